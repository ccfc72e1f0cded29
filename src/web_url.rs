//! What `URL` and `URLSearchParams` (`js/14_url.js`) ask of the url crate: WHATWG URL parsing,
//! the component getters and setters of the URL Standard's API, and the
//! `application/x-www-form-urlencoded` parser and serializer.

use url::{Url, form_urlencoded, quirks};

/// Parses `input` against `base`, as `new URL(input, base)` does.
pub(crate) fn parse(input: &str, base: Option<&str>) -> Option<Url> {
  let base = match base {
    Some(base) => Some(Url::parse(base).ok()?),
    None => None,
  };
  Url::options().base_url(base.as_ref()).parse(input).ok()
}

/// The URL's components as the API's getters give them, by getter name.
pub(crate) fn components(url: &Url) -> [(&'static str, String); 11] {
  [
    ("href", quirks::href(url).to_string()),
    ("origin", quirks::origin(url)),
    ("protocol", quirks::protocol(url).to_string()),
    ("username", quirks::username(url).to_string()),
    ("password", quirks::password(url).to_string()),
    ("host", quirks::host(url).to_string()),
    ("hostname", quirks::hostname(url).to_string()),
    ("port", quirks::port(url).to_string()),
    ("pathname", quirks::pathname(url).to_string()),
    ("search", quirks::search(url).to_string()),
    ("hash", quirks::hash(url).to_string()),
  ]
}

/// Runs the setter named `name` with `value`. Only `href` can fail (with the reason); the
/// others leave the URL as it was where the value does not fit, as the standard says.
pub(crate) fn set(url: &mut Url, name: &str, value: &str) -> Result<(), String> {
  match name {
    "href" => return quirks::set_href(url, value).map_err(|e| e.to_string()),
    "protocol" => drop(quirks::set_protocol(url, value)),
    "username" => drop(quirks::set_username(url, value)),
    "password" => drop(quirks::set_password(url, value)),
    "host" => drop(quirks::set_host(url, value)),
    "hostname" => drop(quirks::set_hostname(url, value)),
    "port" => drop(quirks::set_port(url, value)),
    "pathname" => quirks::set_pathname(url, value),
    "search" => quirks::set_search(url, value),
    "hash" => quirks::set_hash(url, value),
    other => return Err(format!("no URL component {other:?}")),
  }
  Ok(())
}

/// The name-value pairs of a query string (a leading `?` is not stripped here).
pub(crate) fn parse_form(input: &str) -> Vec<(String, String)> {
  form_urlencoded::parse(input.as_bytes())
    .map(|(name, value)| (name.into_owned(), value.into_owned()))
    .collect()
}

/// The query string of `pairs`.
pub(crate) fn serialize_form<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
  form_urlencoded::Serializer::new(String::new())
    .extend_pairs(pairs)
    .finish()
}

#[cfg(test)]
mod tests {
  use super::*;

  #[test]
  fn components_follow_the_url_standard() {
    let url = parse("../x?a=1#h", Some("https://u:p@example.com:8080/a/b/c")).unwrap();
    let got: Vec<String> = components(&url).into_iter().map(|(_, v)| v).collect();
    assert_eq!(
      got,
      [
        "https://u:p@example.com:8080/a/x?a=1#h",
        "https://example.com:8080",
        "https:",
        "u",
        "p",
        "example.com:8080",
        "example.com",
        "8080",
        "/a/x",
        "?a=1",
        "#h",
      ]
    );
    assert!(parse("no scheme", None).is_none());
    assert!(parse("/x", Some("not a base")).is_none());
  }

  #[test]
  fn forms_round_trip() {
    let pairs = parse_form("a=1&b=x+y&c=%F0%9F%98%80&&d");
    assert_eq!(
      pairs,
      [
        ("a".into(), "1".into()),
        ("b".into(), "x y".into()),
        ("c".into(), "\u{1F600}".into()),
        ("d".into(), String::new()),
      ]
    );
    let back = serialize_form(pairs.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    assert_eq!(back, "a=1&b=x+y&c=%F0%9F%98%80&d=");
  }
}
