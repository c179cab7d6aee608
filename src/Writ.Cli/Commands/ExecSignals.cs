using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Writ.Cli.Commands;

/// <summary>
/// How <c>writ exec</c> ends on SIGINT, SIGTERM, SIGHUP or SIGQUIT: it never dies first. Before the command starts, a
/// signal cancels the start-up (the task is still completed). Once it runs, the signal is passed on to the command
/// and writ waits for it to exit, then completes the task (revoking its credentials) and exits with the command's
/// code (128 + the signal when the signal ended it). Ctrl+C and Ctrl+\ typed at a terminal already reach the command
/// (same foreground process group), so they are not sent twice, and they start no clock: the command decides what they
/// mean. A command still running 10 s after the first signal writ passed on, or at a second one, is killed with its
/// process tree.
/// </summary>
internal sealed class ExecSignals : IDisposable
{
    public static readonly TimeSpan Grace = TimeSpan.FromSeconds(10);

    private static readonly PosixSignal[] Handled = [PosixSignal.SIGINT, PosixSignal.SIGTERM, PosixSignal.SIGHUP, PosixSignal.SIGQUIT];

    private readonly CancellationTokenSource _startup = new();
    private readonly List<PosixSignalRegistration> _registrations = [];
    private readonly Lock _lock = new();
    private Process? _child;
    private bool _starting;
    private Timer? _grace;
    private int _received;

    public ExecSignals()
    {
        foreach (var signal in Handled)
        {
            try
            {
                _registrations.Add(PosixSignalRegistration.Create(signal, OnSignal));
            }
            catch (PlatformNotSupportedException)
            {
                // Not every signal exists everywhere (Windows); the others still are handled.
            }
        }
    }

    /// <summary>Cancelled by a signal that arrives before the command is started.</summary>
    public CancellationToken Startup => _startup.Token;

    /// <summary>
    /// Called just before the command is started: from here a keyboard signal from the terminal reaches the command itself
    /// (once it exists), so it no longer cancels anything here — without this, a ^C landing between the start and
    /// <see cref="Attach"/> would be taken for a signal before the start and sent on as SIGTERM.
    /// </summary>
    public void Starting()
    {
        lock (_lock) _starting = true;
    }

    /// <summary>From now on signals go to <paramref name="child"/>; one that arrived while it was being started is passed on now.</summary>
    public void Attach(Process child)
    {
        lock (_lock)
        {
            _child = child;
            if (_received > 0) Stop(child, PosixSignal.SIGTERM, first: true);
        }
    }

    private void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true; // writ stays: the task must be completed after the command is gone
        lock (_lock)
        {
            // Ctrl+C or Ctrl+\ at the terminal already reached a running command, which decides what it means (a REPL or
            // a shell carries on): writ neither sends it again nor starts the clock that would kill the command.
            if ((_child is not null || _starting) && FromTerminal(context.Signal)) return;
            var first = _received++ == 0;
            if (_child is null)
            {
                _startup.Cancel();
                return;
            }
            Stop(_child, context.Signal, first);
        }
    }

    private void Stop(Process child, PosixSignal signal, bool first)
    {
        try
        {
            if (child.HasExited) return;
            if (!first || OperatingSystem.IsWindows())
            {
                child.Kill(entireProcessTree: true);
                return;
            }
            _ = Native.kill(child.Id, Number(signal));
            _grace ??= new Timer(_ =>
            {
                try
                {
                    if (!child.HasExited) child.Kill(entireProcessTree: true);
                }
                catch (InvalidOperationException)
                {
                    // Gone in the meantime.
                }
            }, null, Grace, Timeout.InfiniteTimeSpan);
        }
        catch (InvalidOperationException)
        {
            // The command exited between the check and the signal.
        }
    }

    /// <summary>
    /// Whether a keyboard signal came from the terminal, which sends it to its whole foreground process group (the command
    /// included): writ's group is the terminal's foreground group. Sent with <c>kill</c> to writ alone, or without a
    /// terminal, the command would not get it unless writ passes it on. The terminal is found on stdin, stdout or stderr,
    /// so <c>writ exec -- cmd &lt; plan</c> at a terminal still counts as one.
    /// </summary>
    private static bool FromTerminal(PosixSignal signal)
    {
        if (signal is not (PosixSignal.SIGINT or PosixSignal.SIGQUIT) || OperatingSystem.IsWindows()) return false;
        for (var fd = 0; fd <= 2; fd++)
        {
            var foreground = Native.tcgetpgrp(fd);
            if (foreground > 0) return foreground == Native.getpgrp();
        }
        return false;
    }

    /// <summary>The signal numbers Linux and macOS share.</summary>
    private static int Number(PosixSignal signal) => signal switch
    {
        PosixSignal.SIGHUP => 1,
        PosixSignal.SIGINT => 2,
        PosixSignal.SIGQUIT => 3,
        _ => 15,
    };

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _grace?.Dispose();
        _startup.Dispose();
    }

    private static class Native
    {
        [DllImport("libc", SetLastError = true)]
        public static extern int kill(int pid, int sig);

        [DllImport("libc")]
        public static extern int getpgrp();

        [DllImport("libc")]
        public static extern int tcgetpgrp(int fd);
    }
}
