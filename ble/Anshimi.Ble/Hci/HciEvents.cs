using System.Buffers.Binary;

namespace Anshimi.Ble.Hci;

/// <summary>An HCI event the transport acts on.</summary>
public abstract record HciEvent;

/// <summary>Command Complete (0x0E) or Command Status (0x0F): the controller's answer to one command.</summary>
public sealed record HciCommandResult(ushort Opcode, byte Status) : HciEvent;

/// <summary>LE Advertising Report (LE Meta 0x3E, subevent 0x02): the advertisements in one event.</summary>
public sealed record HciAdvertisingReports(IReadOnlyList<HciAdvertisingReport> Reports) : HciEvent;

public sealed record HciAdvertisingReport(byte EventType, byte AddressType, BleAddress Address, byte[] Data, sbyte Rssi);

/// <summary>
/// Parses HCI event packets read from a raw HCI socket: <c>0x04 · event code · parameter length · parameters</c>.
/// Never throws on bad bytes; anything it does not understand or that is cut short is ignored (null).
/// </summary>
public static class HciEvents
{
    public const byte EventPacket = 0x04;
    public const byte CommandComplete = 0x0E;
    public const byte CommandStatus = 0x0F;
    public const byte LeMeta = 0x3E;
    public const byte LeAdvertisingReportSubevent = 0x02;

    /// <summary>RSSI value meaning "not available".</summary>
    public const sbyte RssiUnavailable = 127;

    private const int ReportHeaderLength = 9;

    public static HciEvent? Parse(ReadOnlySpan<byte> packet)
    {
        if (packet.Length < 3 || packet[0] != EventPacket || packet.Length != 3 + packet[2])
        {
            return null;
        }

        ReadOnlySpan<byte> parameters = packet[3..];
        return packet[1] switch
        {
            // num packets (1), opcode (2), return parameters starting with status (1)
            CommandComplete when parameters.Length >= 4 => new HciCommandResult(BinaryPrimitives.ReadUInt16LittleEndian(parameters[1..]), parameters[3]),

            // status (1), num packets (1), opcode (2); a success status means "started", not "done"
            CommandStatus when parameters.Length == 4 => new HciCommandResult(BinaryPrimitives.ReadUInt16LittleEndian(parameters[2..]), parameters[0]),
            LeMeta when parameters.Length >= 1 && parameters[0] == LeAdvertisingReportSubevent => ParseReports(parameters[1..]),
            _ => null,
        };
    }

    /// <summary>
    /// Reports laid out one after the other (event type, address type, address, data length, data, RSSI), as
    /// controllers send them and as the Linux kernel reads them; the whole event must be consumed exactly.
    /// </summary>
    private static HciAdvertisingReports? ParseReports(ReadOnlySpan<byte> body)
    {
        if (body.Length < 1 || body[0] == 0 || body[0] > 25)
        {
            return null;
        }

        int count = body[0];
        var reports = new List<HciAdvertisingReport>(count);
        int at = 1;
        for (int i = 0; i < count; i++)
        {
            if (body.Length - at < ReportHeaderLength)
            {
                return null;
            }

            int dataLength = body[at + 8];
            if (dataLength > HciCommands.MaxAdvertisingData || body.Length - at < ReportHeaderLength + dataLength + 1)
            {
                return null;
            }

            reports.Add(new HciAdvertisingReport(
                EventType: body[at],
                AddressType: body[at + 1],
                Address: BleAddress.FromLittleEndian(body.Slice(at + 2, BleAddress.Length)),
                Data: body.Slice(at + ReportHeaderLength, dataLength).ToArray(),
                Rssi: (sbyte)body[at + ReportHeaderLength + dataLength]));
            at += ReportHeaderLength + dataLength + 1;
        }

        return at == body.Length ? new HciAdvertisingReports(reports) : null;
    }
}
