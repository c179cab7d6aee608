using Writ.Client.Keys;

namespace Writ.Benchmarks;

/// <summary>
/// Pre-signs a batch of DPoP proofs for a load run: wrk cannot sign ES256, and every proof must be
/// fresh and unique (the server refuses replays), so the load script sends one of these per request.
/// <c>proofs --key FILE --url URL --count N --out FILE</c>.
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

        using var key = AgentKeyPair.Load(keyFile);
        var proofs = new string[count];
        Parallel.For(0, count, i => proofs[i] = new DpopProofFactory(key).Create("POST", url));
        await File.WriteAllLinesAsync(output, proofs);
        return 0;
    }
}
