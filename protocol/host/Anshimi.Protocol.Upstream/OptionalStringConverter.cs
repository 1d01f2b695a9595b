using System.Text.Json;
using System.Text.Json.Serialization;

namespace Anshimi.Protocol.Upstream;

/// <summary>
/// An optional, advisory string field: any other JSON value (number, object, array, boolean) reads as null instead of
/// failing the whole envelope, so a sender's mistake in a field nobody relies on cannot cost an alarm.
/// </summary>
public sealed class OptionalStringConverter : JsonConverter<string?>
{
    public override bool HandleNull => true;

    public override string? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String)
        {
            return reader.GetString();
        }

        reader.Skip();
        return null;
    }

    public override void Write(Utf8JsonWriter writer, string? value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (value is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteStringValue(value);
        }
    }
}
