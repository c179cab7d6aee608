using Writ.Client.Keys;

namespace Writ.Benchmarks;

/// <summary>
/// Pre-signs a batch of DPoP proofs for a load run: wrk cannot sign ES256, and every proof must be
/// fresh and unique (the server refuses replays), so the load script sends one of these per request.
/// <c>proofs --key FILE --url URL --count N --out FILE [--method GET] [--token ACCESS_TOKEN]</c> (with a token,
/// each proof carries its <c>ath</c>, as calls to a protected resource need).
/// </summary>
public static class DpopProofBatch
{
    public static async Task<int> RunAsync(string[] args)
    {
        string? Arg(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var keyFile = Arg("--key") ?? throw new ArgumentException("--key FILE is required");
        var url = new Uri(Arg("--url") ?? throw new ArgumentException("--url URL is required"));
        var count = int.Parse(Arg("--count") ?? "100000");
        var output = Arg("--out") ?? throw new ArgumentException("--out FILE is required");
        var method = Arg("--method") ?? "POST";
        var token = Arg("--token");

        using var key = AgentKeyPair.Load(keyFile);
        var proofs = new string[count];
        Parallel.For(0, count, i => proofs[i] = new DpopProofFactory(key).Create(method, url, token));
        await File.WriteAllLinesAsync(output, proofs);
        return 0;
    }
}
