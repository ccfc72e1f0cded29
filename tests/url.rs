//! URL and URLSearchParams (the url crate's WHATWG parser behind the URL Standard's API).

use crate::setup::assert_prints;

#[test]
fn url_parses_against_a_base_and_exposes_its_components() {
  assert_prints(
    r#"
    const u = new URL("../w orker.js?x=1&y=a+b#frag", "https://user:pw@EXAMPLE.com:8080/app/src/main.mjs");
    for (const key of ["href", "origin", "protocol", "username", "password", "host", "hostname", "port", "pathname", "search", "hash"]) {
      console.log(key, u[key]);
    }
    console.log(String(u) === u.href, JSON.stringify({ u }), u instanceof URL);
    console.log(new URL("file:///a/b c.mjs").href, new URL("./x", "file:///a/b.mjs").href);
    try { new URL("no scheme"); } catch (e) { console.log(e.name, e.message); }
    try { new URL("/x", "not a base"); } catch (e) { console.log(e.name); }
    try { new URL(); } catch (e) { console.log(e.name); }
    console.log(URL.canParse("a:b"), URL.canParse("b"), URL.canParse("/p", "http://h"));
    console.log(URL.parse("x"), URL.parse("/p", "http://h").href);
    "#,
    &[
      "href https://user:pw@example.com:8080/app/w%20orker.js?x=1&y=a+b#frag",
      "origin https://example.com:8080",
      "protocol https:",
      "username user",
      "password pw",
      "host example.com:8080",
      "hostname example.com",
      "port 8080",
      "pathname /app/w%20orker.js",
      "search ?x=1&y=a+b",
      "hash #frag",
      "true {\"u\":\"https://user:pw@example.com:8080/app/w%20orker.js?x=1&y=a+b#frag\"} true",
      "file:///a/b%20c.mjs file:///a/x",
      "TypeError Failed to construct 'URL': Invalid URL",
      "TypeError",
      "TypeError",
      "true false true",
      "null http://h/p",
    ],
  );
}

#[test]
fn url_setters_follow_the_standard() {
  assert_prints(
    r#"
    const u = new URL("https://example.com:443/a/../b?q#h");
    console.log(u.href, u.port);
    u.port = "8080"; u.hostname = "x.org"; u.protocol = "http"; u.pathname = "/p q"; u.hash = "";
    console.log(u.href);
    u.port = "not a port"; u.protocol = "1bad";
    console.log(u.href);
    u.username = "me"; u.password = "secret"; u.host = "h.net:99";
    console.log(u.href);
    u.href = "mailto:someone@example.com";
    console.log(u.protocol, u.pathname, u.origin);
    try { u.href = "relative"; } catch (e) { console.log(e.name, u.href); }
    "#,
    &[
      "https://example.com/b?q#h ",
      "http://x.org:8080/p%20q?q",
      "http://x.org:8080/p%20q?q",
      "http://me:secret@h.net:99/p%20q?q",
      "mailto: someone@example.com null",
      "TypeError mailto:someone@example.com",
    ],
  );
}

#[test]
fn search_params_are_live_with_their_url() {
  assert_prints(
    r#"
    const u = new URL("http://h/?x=1&y=a+b");
    const params = u.searchParams;
    console.log(params === u.searchParams, params.size, params.get("y"), params.get("none"));
    params.append("z", "\u00e9 &=");
    console.log(u.search);
    u.search = "?q=2&q=3";
    console.log([...params.keys()].join(), params.getAll("q").join());
    params.delete("q", "2");
    console.log(u.href);
    params.delete("q");
    console.log(u.href, JSON.stringify(u.search));
    u.href = "http://other/?k=v";
    console.log(params.get("k"));
    "#,
    &[
      "true 2 a b null",
      "?x=1&y=a+b&z=%C3%A9+%26%3D",
      "q,q 2,3",
      "http://h/?q=3",
      "http://h/ \"\"",
      "v",
    ],
  );
}

#[test]
fn search_params_from_strings_records_and_pairs() {
  assert_prints(
    r#"
    const a = new URLSearchParams("?z=1&a=2&a=1&%zz=%F0%9F%98%80&plus=a+b");
    console.log(a.get("%zz"), a.get("plus"), a.size);
    a.sort();
    console.log(a.toString());
    a.set("a", "only");
    console.log(String(a), a.has("a"), a.has("a", "x"), a.has("nope"));
    const record = new URLSearchParams({ one: 1, two: [2, 3] });
    const pairs = new URLSearchParams([["k", "v"], new Set(["s", "t"])]);
    console.log(record.toString(), pairs.toString(), new URLSearchParams().toString() === "");
    for (const bad of [[["only one"]], [1], { [Symbol.iterator]: 1 }]) {
      try { new URLSearchParams(bad); console.log("no error"); } catch (e) { console.log(e.name); }
    }
    const seen = [];
    pairs.forEach(function (value, key, target) { seen.push(key + "=" + value + ":" + (target === pairs) + (this === seen)); }, seen);
    console.log(seen.join());
    const it = pairs[Symbol.iterator]();
    console.log(Object.prototype.toString.call(it), JSON.stringify(it.next()), it.next().value.join());
    pairs.append("late", "1");
    console.log(JSON.stringify(it.next()), it.next().done);
    console.log([...pairs.values()].join(), pairs.entries !== undefined && pairs[Symbol.iterator] === pairs.entries);
    "#,
    &[
      "\u{1F600} a b 5",
      "%25zz=%F0%9F%98%80&a=2&a=1&plus=a+b&z=1",
      "%25zz=%F0%9F%98%80&a=only&plus=a+b&z=1 true false false",
      "one=1&two=2%2C3 k=v&s=t true",
      "TypeError",
      "TypeError",
      "TypeError",
      "k=v:truetrue,s=t:truetrue",
      "[object URLSearchParams Iterator] {\"value\":[\"k\",\"v\"],\"done\":false} s,t",
      "{\"value\":[\"late\",\"1\"],\"done\":false} true",
      "v,t,1 true",
    ],
  );
}
