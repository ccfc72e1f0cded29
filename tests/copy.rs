//! The same-isolate copy (js/11_message_copy.js) against V8's serializer: random values posted
//! through a MessageChannel must arrive exactly as structuredClone makes them.
