using System.Runtime.CompilerServices;

// The key-file path rules (working directory, home) are tested through internal overloads.
[assembly: InternalsVisibleTo("Writ.Core.Tests")]
