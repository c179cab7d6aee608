using System.CommandLine;

var root = new RootCommand("writ: task-scoped, short-lived credentials for AI agents");
var name = new Option<string>("--name") { Description = "a name" };
var cmd = new Command("hello", "says hello") { name };
cmd.SetAction((parse, ct) => { Console.WriteLine(parse.GetValue(name)); return Task.FromResult(0); });
root.Subcommands.Add(cmd);
return await root.Parse(args).InvokeAsync();
