-- wrk script: MCP Streamable HTTP tools/call (echo) through Writ's /mcp/{resource}, inside an initialized session (SID
-- env var), unique JSON-RPC ids, each request with a fresh pre-signed DPoP proof (wrk cannot sign ES256; Writ refuses
-- a replayed proof). Thread k takes proof lines k, k+THREADS, … Script args: PROOFS_FILE THREADS AUTHORIZATION
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local file, threads = args[1], tonumber(args[2])
  authorization = args[3]
  proofs = {}
  local i = 0
  for line in io.lines(file) do
    if i % threads == id then proofs[#proofs + 1] = line end
    i = i + 1
  end
  n = 0
  rpc = math.random(1, 1e9)
end

function request()
  n = n + 1
  if n > #proofs then n = 1 end -- out of proofs: replays, which Writ refuses (counted as non-2xx)
  rpc = rpc + 1
  local headers = {
    ["DPoP"] = proofs[n], ["Authorization"] = authorization, ["Content-Type"] = "application/json",
    ["Accept"] = "application/json, text/event-stream", ["Mcp-Session-Id"] = os.getenv("SID"), ["MCP-Protocol-Version"] = "2025-06-18",
  }
  return wrk.format("POST", nil, headers, '{"jsonrpc":"2.0","id":' .. rpc ..
    ',"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello from agent support-bot"}}}')
end
