using System.CommandLine;

var root = new RootCommand("writ (scan only, for benchmarks)");
root.Subcommands.Add(Writ.Cli.Commands.ScanCommand.Create());
return await root.Parse(args).InvokeAsync();
