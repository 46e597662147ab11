// osc.js (npm `osc`, from web/node_modules) as a controller: sends OSC messages to the node over UDP or
// TCP (SLIP), then prints every message it gets back as one JSON line, until `until` arrives or a deadline.
//   node peer.mjs '{"transport":"udp","port":9000,"messages":[{"address":"/ciel/*","args":[{"type":"f","value":0.5}]}],
//                   "until":"/ciel/state/drift","deadline_ms":5000}'
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, "..", "..", "web", "package.json"));
const osc = require("osc");

const job = JSON.parse(process.argv[2]);
const port = job.transport === "tcp"
  ? new osc.TCPSocketPort({ address: "127.0.0.1", port: job.port, useSLIP: true })
  : new osc.UDPPort({ localAddress: "127.0.0.1", localPort: 0, remoteAddress: "127.0.0.1", remotePort: job.port });

const done = (code) => { try { port.close(); } catch { /* closing twice */ } process.exit(code); };
const timer = setTimeout(() => done(job.until ? 3 : 0), job.deadline_ms ?? 5000);

port.on("message", (msg) => {
  process.stdout.write(JSON.stringify({ address: msg.address, args: msg.args }) + "\n");
  if (job.until && msg.address === job.until) { clearTimeout(timer); setTimeout(() => done(0), job.linger_ms ?? 0); }
});
port.on("error", (e) => { process.stderr.write(`osc.js error: ${e.message}\n`); done(2); });
port.on("ready", () => { for (const m of job.messages) port.send(m); });
port.open();
