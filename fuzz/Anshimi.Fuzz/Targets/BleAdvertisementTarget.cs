using Anshimi.Ble.Hci;
using Anshimi.Ble.Simulation;
using Anshimi.Protocol;
using static Anshimi.Fuzz.FuzzInvariantException;

namespace Anshimi.Fuzz.Targets;

/// <summary>
/// What the radio hands the gateway and the devices: an HCI event packet from the controller, a datagram of the
/// UDP airspace, or bare advertising data, each walked to the Anshimi frame and its structure.
/// </summary>
public sealed class BleAdvertisementTarget : IFuzzTarget
{
    public void Run(byte[] input)
    {
        FindFrame(input);
        if (HciEvents.Parse(input) is HciAdvertisingReports reports)
        {
            Expect(reports.Reports.Count is >= 1 and <= 25, "an advertising report event holds 1 to 25 reports");
            foreach (HciAdvertisingReport report in reports.Reports)
            {
                Expect(report.Data.Length <= HciCommands.MaxAdvertisingData, "a report's data fits a legacy advertisement");
                FindFrame(report.Data);
            }
        }

        if (AirspaceDatagram.TryDecode(input) is { Kind: AirspaceDatagramKind.Advertisement } datagram)
        {
            FindFrame(datagram.Data);
        }
    }

    private static void FindFrame(byte[] data)
    {
        if (!BleAdvertisement.TryFindFrame(data, 0, data.Length, out int offset, out int length))
        {
            return;
        }

        Expect(length > 0 && offset >= 0 && offset + length <= data.Length, "the frame lies inside the advertising data");
        FrameReadResult read = FrameCodec.ReadUnverified(data, offset, length);
        Expect(read.IsOk == (read.Frame is not null), "a read gives a frame or a reason");
    }
}
