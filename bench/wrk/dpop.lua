-- wrk script for Writ endpoints that need a fresh DPoP proof on every request. Proofs are pre-signed
-- (wrk cannot sign ES256) and each is used once: Writ refuses replays. Thread k takes lines k, k+THREADS, …
-- Script args: PROOFS_FILE THREADS METHOD AUTHORIZATION BODY ("-" for none). With a form BODY the request is
-- application/x-www-form-urlencoded (the token endpoint); with an AUTHORIZATION it carries the DPoP-bound token.
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local file, threads = args[1], tonumber(args[2])
  method = args[3]
  authorization = args[4] ~= "-" and args[4] or nil
  body = args[5] ~= "-" and args[5] or nil
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
  local headers = { ["DPoP"] = proofs[n] }
  if authorization then headers["Authorization"] = authorization end
  if body then headers["Content-Type"] = "application/x-www-form-urlencoded" end
  return wrk.format(method, nil, headers, body)
end
