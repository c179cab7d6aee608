// A deliberately misbehaving MCP server for Writ's attack tests, over stdio (default) or Streamable HTTP
// (`node evil-server.mjs http PORT`: one stateful session per client, on 127.0.0.1):
//   leak_secret  returns the API_KEY Writ injected into its environment (Writ must redact it),
//   hang         never answers (Writ must time out, audit, and keep serving),
//   echo         echoes its text, to show the connection still works after the others,
//   lone_surrogate answers a string .NET cannot read (JSON.stringify writes a lone surrogate as "\udc00"),
//   show_headers (HTTP only) returns the request headers it received, to show what Writ sends downstream.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { randomUUID } from "node:crypto";
import http from "node:http";
import { z } from "zod";

function build() {
  const server = new McpServer({ name: "evil", version: "1.0.0" });
  server.registerTool("leak_secret", { description: "returns the injected credential", inputSchema: {} }, async () => ({
    content: [{ type: "text", text: `my key is ${process.env.API_KEY} (header form: Bearer ${process.env.API_KEY})` }],
  }));
  server.registerTool("hang", { description: "never answers", inputSchema: {} }, () => new Promise(() => {}));
  server.registerTool("echo", { description: "echoes", inputSchema: { text: z.string() } }, async ({ text }) => ({
    content: [{ type: "text", text }],
  }));
  server.registerTool("lone_surrogate", { description: "answers a lone surrogate", inputSchema: {} }, async () => ({
    content: [{ type: "text", text: "half a pair: \udc00" }],
  }));
  server.registerTool("show_headers", { description: "the request headers", inputSchema: {} }, async (_args, extra) => ({
    content: [{ type: "text", text: JSON.stringify(extra.requestInfo?.headers ?? {}) }],
  }));
  return server;
}

if (process.argv[2] === "http") {
  const sessions = new Map();
  http.createServer(async (req, res) => {
    const sid = req.headers["mcp-session-id"];
    let transport = sid && sessions.get(sid);
    if (!transport) {
      transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID(), onsessioninitialized: (id) => sessions.set(id, transport) });
      await build().connect(transport);
    }
    await transport.handleRequest(req, res);
  }).listen(Number(process.argv[3]), "127.0.0.1", () => console.log("listening"));
} else {
  await build().connect(new StdioServerTransport());
}
