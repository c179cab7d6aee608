using System.CommandLine;
using Writ.Cli.Commands;
using Writ.Client.Http;

var root = new RootCommand("writ: task-scoped, short-lived, key-bound credentials for AI agents")
{
    ServerCommand.Create(),
    HumanCommands.Login(),
    HumanCommands.Logout(),
    HumanCommands.User(),
    HumanCommands.Approvals(),
    PolicyCommands.Apply(),
    PolicyCommands.Policy(),
    AgentCommands.Create(),
    AgentSideCommands.Enroll(),
    AgentSideCommands.Task(),
    AgentSideCommands.Token(),
    AuditCommands.Create(),
    AdminCommands.Keys(),
    AdminCommands.Credential(),
    SecretCommands.Create(),
    ExecCommand.Create(),
    GatewayCommands.Run(),
    GatewayCommands.Tokens(),
    McpProxyCommand.Create(),
    ScanCommand.Create(),
};

try
{
    var parsed = root.Parse(args);
    // writ exec handles its own signals (ExecSignals): it must outlive its command to close the task, where
    // System.CommandLine would end the process two seconds after Ctrl+C or SIGTERM.
    var ownSignals = parsed.CommandResult.Command.Name == "exec";
    return await parsed.InvokeAsync(new InvocationConfiguration
    {
        EnableDefaultExceptionHandler = false,
        ProcessTerminationTimeout = ownSignals ? null : TimeSpan.FromSeconds(2),
    });
}
catch (CliException e)
{
    Console.Error.WriteLine("writ: " + e.Message);
    return e.ExitCode;
}
catch (WritApiException e)
{
    // The server's own words and stable code: enough to act on, never a secret.
    Console.Error.WriteLine($"writ: refused ({e.Code}): {e.Message}");
    return 1;
}
catch (HttpRequestException e)
{
    Console.Error.WriteLine($"writ: cannot reach the Writ server ({e.HttpRequestError}): is it running, and are WRIT_ADDR / --server right?");
    return 2;
}
catch (TaskCanceledException e) when (e.InnerException is TimeoutException)
{
    // HttpClient's timeout arrives as a cancellation: without this it read as Ctrl+C, exit 130 and no word.
    Console.Error.WriteLine("writ: the Writ server did not answer in time: is it running and reachable, and are WRIT_ADDR / --server right?");
    return 2;
}
catch (HttpIOException e)
{
    Console.Error.WriteLine($"writ: the connection to the Writ server broke off ({e.HttpRequestError}); try again");
    return 2;
}
catch (OperationCanceledException)
{
    return 130;
}
catch (Exception e) when (e is IOException or UnauthorizedAccessException)
{
    // A file or directory the command could not read or write: the system's message names it.
    Console.Error.WriteLine("writ: " + e.Message);
    return 1;
}
catch (Exception e) when (Environment.GetEnvironmentVariable("WRIT_DEBUG") != "1")
{
    // Not a stack trace: one line saying what failed. WRIT_DEBUG=1 shows the whole exception, for a bug report.
    var message = e.Message.Length > 300 ? e.Message[..300] + "…" : e.Message;
    Console.Error.WriteLine($"writ: {message} ({e.GetType().Name}; WRIT_DEBUG=1 shows the details)");
    return 70;
}
