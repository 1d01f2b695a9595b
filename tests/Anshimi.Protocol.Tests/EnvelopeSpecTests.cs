using System.Reflection;
using System.Text.Json.Serialization;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Protocol.Tests;

/// <summary>
/// The envelope tables of protocol/README.md §5 and §11.6 (firmware updates) and the records of <c>Envelopes.cs</c> name the same kinds and fields,
/// with the same types and the same required fields, so the text an implementer builds from cannot drift from the code.
/// </summary>
[Trait("Category", "Protocol")]
public sealed class EnvelopeSpecTests
{
    private const string EveryKind = "every kind";

    private static readonly Lazy<Spec> Text = new(Spec.Read);

    [Fact]
    public void Every_envelope_kind_in_the_code_is_in_the_spec_and_no_other()
    {
        string[] coded = [.. Kinds().Select(k => k.Kind).Order()];
        string[] specified = [.. Text.Value.Kinds.Keys.Where(k => k != EveryKind).Order()];

        Assert.Equal(coded, specified);
    }

    [Fact]
    public void Every_field_of_every_kind_is_specified_with_its_type_and_whether_it_is_required()
    {
        Assert.Equal(["kind", "v"], Text.Value.Kinds[EveryKind].Keys.Order());
        Assert.Equal(("integer", "no (1)"), Text.Value.Kinds[EveryKind]["v"]);
        foreach ((string kind, Type type) in Kinds())
        {
            Dictionary<string, (string Type, string Required)> coded = Fields(type).Where(f => f.Key != "v").ToDictionary();
            Dictionary<string, (string Type, string Required)> specified = Text.Value.Kinds[kind];

            Assert.True(coded.Keys.Order().SequenceEqual(specified.Keys.Order()),
                kind + ": code has " + string.Join(", ", coded.Keys.Order()) + "; spec has " + string.Join(", ", specified.Keys.Order()));
            foreach ((string field, (string Type, string Required) row) in coded)
            {
                Assert.True(row == specified[field], kind + "." + field + ": code " + row + ", spec " + specified[field]);
            }
        }
    }

    [Theory]
    [InlineData("site", typeof(SiteInfo))]
    [InlineData("event", typeof(ContactIdEvent))]
    [InlineData("health", typeof(DeviceHealth))]
    [InlineData("escort-key", typeof(EscortAreaKey))]
    public void Every_field_of_the_shared_objects_is_specified(string name, Type type)
    {
        Dictionary<string, (string Type, string Required)> coded = Fields(type).ToDictionary();
        Dictionary<string, (string Type, string Required)> specified = Text.Value.Objects[name];

        Assert.Equal(coded.Keys.Order(), specified.Keys.Order());
        Assert.All(coded, f => Assert.Equal(f.Value, specified[f.Key]));
    }

    private static IEnumerable<(string Kind, Type Type)> Kinds() =>
        typeof(Envelope).GetCustomAttributes<JsonDerivedTypeAttribute>().Select(a => ((string)a.TypeDiscriminator!, a.DerivedType));

    /// <summary>JSON name → (spec type, required) of each serialized property, as the serializer reads them.</summary>
    private static IEnumerable<KeyValuePair<string, (string Type, string Required)>> Fields(Type type)
    {
        HashSet<string> constructorParameters = [.. type.GetConstructors().Single().GetParameters().Select(p => p.Name!)];
        var nullability = new NullabilityInfoContext();
        foreach (PropertyInfo property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetCustomAttribute<JsonPropertyNameAttribute>() is not { } name)
            {
                continue;
            }

            bool nullable = nullability.Create(property).ReadState == NullabilityState.Nullable;
            bool inConstructor = constructorParameters.Contains(property.Name);
            string required = inConstructor ? (nullable ? "yes, or null" : "yes") : property.Name == nameof(Envelope.Version) ? "no (1)" : "no";
            yield return new(name.Name, (SpecType(property, name.Name), required));
        }
    }

    private static string SpecType(PropertyInfo property, string jsonName)
    {
        Type type = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
        if (type == typeof(string))
        {
            // Hex is a string the spec says more about: the frame, a key or a hash.
            return jsonName is "frame" or "frameKey" or "sha256" or "signature" or "recordHex" ? "hex" : "string";
        }

        return type switch
        {
            _ when type == typeof(int) || type == typeof(uint) || type == typeof(long) => "integer",
            _ when type == typeof(double) => "number",
            _ when type == typeof(bool) => "boolean",
            _ when type == typeof(DateTimeOffset) => "date-time",
            _ when type == typeof(byte[]) => "base64",
            _ when type == typeof(IReadOnlyList<string>) => "string[]",
            _ when type == typeof(SiteInfo) => "site",
            _ when type == typeof(ContactIdEvent) => "event",
            _ when type == typeof(DeviceHealth) => "health",
            _ when type == typeof(IReadOnlyList<EscortAreaKey>) => "escort-key[]",
            _ => throw new InvalidOperationException("no spec type for " + type + " (" + property.DeclaringType!.Name + "." + property.Name + ")"),
        };
    }

    /// <summary>The two tables of §5: kind | field | type | required | …, and object | field | type | required | ….</summary>
    private sealed record Spec(Dictionary<string, Dictionary<string, (string Type, string Required)>> Kinds, Dictionary<string, Dictionary<string, (string Type, string Required)>> Objects)
    {
        public static Spec Read()
        {
            string text = File.ReadAllText(Path.Combine(Repository.Root(), "protocol", "README.md"));
            int start = text.IndexOf("## 5. JSON envelopes", StringComparison.Ordinal);
            int end = text.IndexOf("## 6. ", start, StringComparison.Ordinal);
            Assert.True(start >= 0 && end > start, "§5 not found in protocol/README.md");
            int firmwareStart = text.IndexOf("### 11.6 ", StringComparison.Ordinal);
            int firmwareEnd = text.IndexOf("### 11.7 ", firmwareStart, StringComparison.Ordinal);
            Assert.True(firmwareStart >= 0 && firmwareEnd > firmwareStart, "§11.6 not found in protocol/README.md");
            var kinds = new Dictionary<string, Dictionary<string, (string, string)>>();
            var objects = new Dictionary<string, Dictionary<string, (string, string)>>();
            Dictionary<string, Dictionary<string, (string, string)>>? table = null;
            foreach (string line in (text[start..end] + "\n" + text[firmwareStart..firmwareEnd]).Split('\n'))
            {
                string[] cells = [.. line.Trim().Trim('|').Split('|').Select(c => c.Trim())];
                if (!line.TrimStart().StartsWith('|') || cells.Length < 4)
                {
                    table = null;
                    continue;
                }

                if (cells[0] == "kind" || cells[0] == "object")
                {
                    table = cells[0] == "kind" ? kinds : objects;
                    continue;
                }

                if (table is null || cells[0].StartsWith("---", StringComparison.Ordinal))
                {
                    continue;
                }

                string owner = cells[0].Trim('`');
                string field = cells[1].Trim('`');
                Dictionary<string, (string, string)> fields = table.TryGetValue(owner, out var found) ? found : table[owner] = [];
                Assert.True(fields.TryAdd(field, (cells[2], cells[3])), owner + "." + field + " is specified twice");
            }

            return new Spec(kinds, objects);
        }
    }
}
