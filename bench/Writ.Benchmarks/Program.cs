using BenchmarkDotNet.Running;

// `dotnet run -c Release --project bench/Writ.Benchmarks -- audit [...]` measures durable audit appends
// against the disk's fsync floor; anything else goes to BenchmarkDotNet (e.g. `-- --filter '*Policy*'`).
if (args.Length > 0 && args[0] == "proofs") return await Writ.Benchmarks.DpopProofBatch.RunAsync(args[1..]);
if (args.Length > 0 && args[0] == "audit") return await Writ.Benchmarks.AuditAppendBench.RunAsync(args[1..]);

BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
return 0;
