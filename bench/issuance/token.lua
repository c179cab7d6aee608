-- wrk script for Writ's /oauth/token: client_credentials with a DPoP proof per request.
-- Proofs are pre-signed (wrk cannot sign ES256) and each is used once: the server refuses replays.
-- Script args: PROOFS_FILE THREADS FORM_BODY. Thread k takes lines k, k+THREADS, ...
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local file, threads = args[1], tonumber(args[2])
  body = args[3]
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
  if n > #proofs then n = 1 end -- out of proofs: replays, which the server refuses (counted as non-2xx)
  return wrk.format("POST", nil, { ["Content-Type"] = "application/x-www-form-urlencoded", ["DPoP"] = proofs[n] }, body)
end
