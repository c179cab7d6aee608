-- wrk script for Writ endpoints that need a fresh DPoP proof on every request. Proofs are pre-signed
-- (wrk cannot sign ES256) and each is used once: Writ refuses replays. Thread k takes lines k, k+THREADS, …
-- Script args: PROOFS_FILE THREADS METHOD AUTHORIZATION BODY ("-" for none). With a form BODY the request is
-- application/x-www-form-urlencoded (the token endpoint); with an AUTHORIZATION it carries the DPoP-bound token.
-- The request around the proof is put together once in init, so each request costs one string join: the load
-- generator shares the box with the server and should spend as little of it as it can.
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local file, threads = args[1], tonumber(args[2])
  local authorization = args[4] ~= "-" and args[4] or nil
  local body = args[5] ~= "-" and args[5] or nil
  local head = { string.format("%s %s HTTP/1.1", args[3], wrk.path), "Host: " .. wrk.headers["Host"] }
  if authorization then head[#head + 1] = "Authorization: " .. authorization end
  if body then
    head[#head + 1] = "Content-Type: application/x-www-form-urlencoded"
    head[#head + 1] = "Content-Length: " .. string.len(body)
  end
  before = table.concat(head, "\r\n") .. "\r\nDPoP: "
  after = "\r\n\r\n" .. (body or "")
  proofs = {}
  local i = 0
  for line in io.lines(file) do
    if i % threads == id then proofs[#proofs + 1] = line end
    i = i + 1
  end
  n = 0
end

function request()
  n = n + 1
  if n > #proofs then n = 1 end -- out of proofs: replays, which Writ refuses (counted as non-2xx)
  return before .. proofs[n] .. after
end
