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
catch (OperationCanceledException)
{
    return 130;
}
