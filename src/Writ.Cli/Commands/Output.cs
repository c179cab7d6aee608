using System.Text;
using System.Text.Json;
using Writ.Client.Http;

namespace Writ.Cli.Commands;

/// <summary>Tables for people, JSON and CSV for scripts (<c>-o table|json|csv</c>).</summary>
internal static class Output
{
    public static void Write<T>(string format, IReadOnlyList<T> rows, params (string Header, Func<T, object?> Value)[] columns)
    {
        switch (format)
        {
            case "json":
                Console.WriteLine(JsonSerializer.Serialize(rows, new JsonSerializerOptions(WritJson.Options) { WriteIndented = true }));
                break;
            case "csv":
                Console.WriteLine(string.Join(',', columns.Select(c => Csv(c.Header))));
                foreach (var row in rows) Console.WriteLine(string.Join(',', columns.Select(c => Csv(Text(c.Value(row))))));
                break;
            default:
                Table(rows.Select(r => columns.Select(c => Text(c.Value(r))).ToArray()).ToList(), columns.Select(c => c.Header).ToArray());
                break;
        }
    }

    public static void Json<T>(T value) =>
        Console.WriteLine(JsonSerializer.Serialize(value, new JsonSerializerOptions(WritJson.Options) { WriteIndented = true }));

    public static void Table(IReadOnlyList<string[]> rows, string[] headers)
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, rows.Count == 0 ? 0 : rows.Max(r => r[i].Length))).ToArray();
        var sb = new StringBuilder();
        sb.AppendLine(string.Join("  ", headers.Select((h, i) => h.ToUpperInvariant().PadRight(widths[i]))).TrimEnd());
        foreach (var row in rows) sb.AppendLine(string.Join("  ", row.Select((v, i) => v.PadRight(widths[i]))).TrimEnd());
        Console.Write(sb.ToString());
    }

    public static string Text(object? value) => value switch
    {
        null => "-",
        DateTimeOffset d => d.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss'Z'"),
        IEnumerable<string> list => string.Join(",", list),
        _ => value.ToString() ?? "",
    };

    private static string Csv(string value) =>
        value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;

    public static string CheckFormat(string? format) => format switch
    {
        null or "table" => "table",
        "json" or "csv" => format,
        _ => throw new CliException($"unknown output format '{format}': use table, json or csv"),
    };
}
