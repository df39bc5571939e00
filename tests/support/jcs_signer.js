// A signer written apart from the device's code, as an owner's or requester's app would be:
// RFC 8785 from the npm package `canonicalize`, Ed25519 from Node's own crypto.
// stdin: {"pem": "<PKCS#8 private key>", "body": {...}}; stdout: the body with key_id and signature.
"use strict";
const crypto = require("node:crypto");
const canonicalize = require("canonicalize");

let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const { pem, body } = JSON.parse(input);
  const key = crypto.createPrivateKey(pem);
  const spki = crypto.createPublicKey(key).export({ format: "der", type: "spki" });
  const raw = spki.subarray(spki.length - 32);
  body.key_id = crypto.createHash("sha256").update(raw).digest("hex").slice(0, 16);
  delete body.signature;
  const message = Buffer.from(canonicalize(body), "utf8");
  body.signature = crypto.sign(null, message, key).toString("base64");
  process.stdout.write(JSON.stringify(body));
});
