// A message round trip through a MessageChannel: run it with `cargo run -- run examples/hello.js`.
const { port1, port2 } = new MessageChannel();

port2.onmessage = ({ data }) => {
  console.log("port2 received:", data);
  port2.postMessage({ reply: `hello, ${data.name}` });
};

port1.onmessage = ({ data }) => {
  console.log("port1 received:", data);
  port1.close();
};

port1.addEventListener("close", () => console.log("port1 closed"));
port2.addEventListener("close", () => console.log("port2 closed"));

port1.postMessage({ name: "world", sent: new Date(0), tags: new Set(["a", "b"]) });
