using System;
using System.Globalization;
using System.Linq;
using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace ShardGen.Diagrams;

/// <summary>
/// Small SVG element builders. <see cref="XElement"/> escapes every text and attribute, and numbers are written with
/// invariant digits rounded to 0.1 px, so a drawing is the same bytes on every machine.
/// </summary>
internal static class SvgElements
{
    public static readonly XNamespace Svg = "http://www.w3.org/2000/svg";

    /// <summary>The drawing's font size; texts at this size carry no font-size attribute of their own.</summary>
    public const double FontSize = 12;

    /// <summary>A safe over-estimate of a text's width: DejaVu Sans digits are 0.64 em, most letters narrower.</summary>
    public static double TextWidth(string text, double size, bool bold = false) => text.Length * size * (bold ? 0.7 : 0.64);

    /// <summary>A &lt;g&gt; with a class and data-* attributes: what the tests (and a reader of the file) find things by.</summary>
    public static XElement Group(string cls, params (string Name, object Value)[] data)
    {
        var g = new XElement(Svg + "g", new XAttribute("class", cls));
        foreach (var (name, value) in data) g.Add(new XAttribute(name, Convert.ToString(value, CultureInfo.InvariantCulture)!));
        return g;
    }

    public static XElement Rect(double x, double y, double w, double h, string fill, string? stroke, double radius = 0)
    {
        var e = new XElement(Svg + "rect", new XAttribute("x", N(x)), new XAttribute("y", N(y)),
            new XAttribute("width", N(w)), new XAttribute("height", N(h)), new XAttribute("fill", fill));
        if (stroke is not null) e.Add(new XAttribute("stroke", stroke));
        if (radius > 0) e.Add(new XAttribute("rx", N(radius)));
        return e;
    }

    public static XElement Line(double x1, double y1, double x2, double y2, string stroke, double width) =>
        new(Svg + "line", new XAttribute("x1", N(x1)), new XAttribute("y1", N(y1)), new XAttribute("x2", N(x2)),
            new XAttribute("y2", N(y2)), new XAttribute("stroke", stroke), new XAttribute("stroke-width", N(width)));

    public static XElement Circle(double cx, double cy, double r, string fill, XAttribute data) =>
        new(Svg + "circle", new XAttribute("cx", N(cx)), new XAttribute("cy", N(cy)), new XAttribute("r", N(r)), new XAttribute("fill", fill), data);

    public static XElement Text(double x, double y, string text, double size, string? weight = null, string? anchor = null,
        string? fill = null, string? cls = null)
    {
        var e = new XElement(Svg + "text", new XAttribute("x", N(x)), new XAttribute("y", N(y)));
        if (size != FontSize) e.Add(new XAttribute("font-size", N(size)));
        if (weight is not null) e.Add(new XAttribute("font-weight", weight));
        if (anchor is not null) e.Add(new XAttribute("text-anchor", anchor));
        if (fill is not null) e.Add(new XAttribute("fill", fill));
        if (cls is not null) e.Add(new XAttribute("class", cls));
        e.Add(Printable(text));
        return e;
    }

    /// <summary>
    /// <paramref name="text"/> with characters XML cannot hold (control characters, lone surrogates) replaced by U+FFFD:
    /// a model name is any string, and one stray byte must not make the drawing unreadable.
    /// </summary>
    public static string Printable(string text)
    {
        if (text.All(XmlConvert.IsXmlChar)) return text;
        var sb = new StringBuilder(text.Length);
        for (int i = 0; i < text.Length; i++)
        {
            if (i + 1 < text.Length && XmlConvert.IsXmlSurrogatePair(text[i + 1], text[i])) { sb.Append(text, i++, 2); continue; }
            sb.Append(XmlConvert.IsXmlChar(text[i]) ? text[i] : '\uFFFD');
        }
        return sb.ToString();
    }

    /// <summary>The drawing as text: two-space indents and "\n" line ends on every OS.</summary>
    public static string Write(XElement root)
    {
        var sb = new StringBuilder();
        var settings = new XmlWriterSettings { Indent = true, IndentChars = "  ", NewLineChars = "\n", OmitXmlDeclaration = true };
        using (var writer = XmlWriter.Create(sb, settings)) root.Save(writer);
        return sb.Append('\n').ToString();
    }

    public static string N(double v) => Math.Round(v, 1).ToString("0.#", CultureInfo.InvariantCulture);

    public static string I(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
