// The official TypeScript MCP client against Writ, for the end-to-end tests and the benchmark.
//   node sdk-client.mjs stdio COMMAND [ARGS...]   e.g. stdio dotnet writ.dll mcp-proxy everything
//   node sdk-client.mjs http URL                  Streamable HTTP to /mcp/RESOURCE; env WRIT_MCP_TOKEN (a DPoP-bound
//                                                 access token) and WRIT_MCP_KEY_FILE (the agent key file `writ enroll` wrote)
// Lists tools, calls echo, calls get-env (refused by policy), prints one JSON line with what it saw.
// With BENCH_N=N set (bench/mcp/run.sh) it instead times N sequential echo calls after 200 warm-up calls, printed
// like the peers' mcp/bench.mjs so the rows compare.
import crypto from "node:crypto";
import fs from "node:fs";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";

const b64url = (buf) => Buffer.from(buf).toString("base64url");

/** fetch that adds Authorization: DPoP and a fresh RFC 9449 proof (htm, htu, iat, jti, ath) to every request. */
function dpopFetch(token, keyFile) {
  const file = JSON.parse(fs.readFileSync(keyFile, "utf8"));
  const key = crypto.createPrivateKey({ key: Buffer.from(file.private_key_pkcs8, "base64"), format: "der", type: "pkcs8" });
  const header = b64url(JSON.stringify({ typ: "dpop+jwt", alg: "ES256", jwk: file.public_jwk }));
  const ath = b64url(crypto.createHash("sha256").update(token).digest());
  return async (url, init = {}) => {
    const u = new URL(url);
    const payload = { jti: crypto.randomUUID(), htm: (init.method || "GET").toUpperCase(), htu: u.origin + u.pathname, iat: Math.floor(Date.now() / 1000), ath };
    const input = header + "." + b64url(JSON.stringify(payload));
    const signature = crypto.sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
    const headers = new Headers(init.headers);
    headers.set("Authorization", "DPoP " + token);
    headers.set("DPoP", input + "." + b64url(signature));
    return fetch(url, { ...init, headers });
  };
}

const [mode, ...rest] = process.argv.slice(2);
const transport = mode === "stdio"
  ? new StdioClientTransport({ command: rest[0], args: rest.slice(1), env: process.env, stderr: "inherit" })
  : new StreamableHTTPClientTransport(new URL(rest[0]), { fetch: dpopFetch(process.env.WRIT_MCP_TOKEN, process.env.WRIT_MCP_KEY_FILE) });
const client = new Client({ name: "writ-e2e-ts", version: "1.0.0" });
await client.connect(transport);
if (process.env.BENCH_N) {
  const N = Number(process.env.BENCH_N);
  const call = () => client.callTool({ name: "echo", arguments: { message: "hello from agent support-bot" } });
  for (let i = 0; i < 200; i++) await call();
  const lat = new Float64Array(N); const t0 = performance.now();
  for (let i = 0; i < N; i++) { const s = performance.now(); await call(); lat[i] = performance.now() - s; }
  const wall = performance.now() - t0; lat.sort();
  const q = (p) => (lat[Math.min(N - 1, Math.floor(N * p))] * 1000).toFixed(0) + "us";
  const label = (mode + " " + (mode === "stdio" ? rest.slice(-2).join(" ") : rest[0])).padEnd(70);
  console.log(`${label} n=${N} calls/s=${(N / wall * 1000).toFixed(0)} p50=${q(0.5)} p90=${q(0.9)} p99=${q(0.99)} max=${q(0.99999)}`);
  await client.close();
  process.exit(0);
}
const tools = await client.listTools();
const echo = await client.callTool({ name: "echo", arguments: { message: "from the TypeScript SDK" } });
const denied = await client.callTool({ name: "get-env", arguments: {} });
console.log(JSON.stringify({
  tools: tools.tools.map((t) => t.name),
  echo: echo.content[0].text,
  denied: denied.isError === true,
  deniedText: denied.content?.[0]?.text ?? "",
}));
await client.close();
