using System.Text;

namespace ShardGen.Generators.Emitting;

/// <summary>A minimal indented text writer: four spaces per level, "\n" line endings, no trailing spaces.</summary>
internal sealed class SourceWriter
{
    private const string IndentUnit = "    ";
    private readonly StringBuilder _text = new();
    private int _indent;

    public void Indent() => _indent++;

    public void Unindent() => _indent--;

    public void WriteLine() => _text.Append('\n');

    public void WriteLine(string line)
    {
        if (line.Length > 0)
            for (int i = 0; i < _indent; i++) _text.Append(IndentUnit);
        _text.Append(line).Append('\n');
    }

    /// <summary>Writes <paramref name="line"/>, then "{" on its own line, and indents.</summary>
    public void OpenBlock(string line)
    {
        WriteLine(line);
        WriteLine("{");
        Indent();
    }

    /// <summary>Unindents and writes "}" followed by <paramref name="suffix"/> (e.g. ";").</summary>
    public void CloseBlock(string suffix = "")
    {
        Unindent();
        WriteLine("}" + suffix);
    }

    public override string ToString() => _text.ToString();
}
