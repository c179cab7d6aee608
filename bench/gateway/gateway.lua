-- wrk script for Writ's gateway: GET with the agent's DPoP-bound token and a fresh pre-signed proof per
-- request (each proof is single use). Script args: PROOFS_FILE THREADS ACCESS_TOKEN.
local next_id = 0
function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
end

function init(args)
  local file, threads = args[1], tonumber(args[2])
  token = args[3]
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
  if n > #proofs then n = 1 end -- out of proofs: replays, refused by the gateway (counted as non-2xx)
  return wrk.format("GET", nil, { ["Authorization"] = "DPoP " .. token, ["DPoP"] = proofs[n] })
end
