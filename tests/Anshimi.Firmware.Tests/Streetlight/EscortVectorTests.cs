using System.Text.Json;
using Anshimi.Firmware.Host;
using Anshimi.Firmware.Streetlight;
using Anshimi.Protocol;

namespace Anshimi.Firmware.Tests.Streetlight;

/// <summary>
/// Every escort vector of protocol/vectors/frames.json (§10.1) heard by the real light firmware in the simulated air: a
/// light of the vectors' district, holding their current and previous rotation's keys, its clock at the vector's minute
/// and its escort floor at the vector's, takes the valid ones and refuses each other one for its reason.
/// </summary>
[Trait("Category", "Protocol")]
public sealed class EscortVectorTests
{
    private static readonly Lazy<JsonElement> Escort = new(() =>
        JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "vectors", "frames.json"))).RootElement.GetProperty("escort"));

    public static IEnumerable<object[]> LightVectors => Escort.Value.GetProperty("vectors").EnumerateArray()
        .Where(v => v.GetProperty("receiver").GetString() == "light")
        .Select(v => new object[] { v.GetProperty("name").GetString()! });

    [Theory]
    [MemberData(nameof(LightVectors))]
    public void The_light_takes_or_refuses_each_vector_as_it_expects(string name)
    {
        JsonElement v = Escort.Value.GetProperty("vectors").EnumerateArray().Single(e => e.GetProperty("name").GetString() == name);
        JsonElement light = Escort.Value.GetProperty("light");
        var storage = new MemoryDeviceStorage();
        byte[] floor = new byte[4];
        BigEndian.WriteUInt32(floor, 0, v.GetProperty("escortFloor").GetUInt32());
        storage.Write(StreetlightController.EscortRecordName, floor);
        DateTime clock = DateTime.UnixEpoch.AddMinutes(v.GetProperty("lightMinute").GetInt64()).AddSeconds(30);
        var rig = new StreetlightRig(clock, storage: storage, installEscortKey: false);
        foreach (string rotation in new[] { "previous", "current" })
        {
            JsonElement record = Escort.Value.GetProperty("records").EnumerateArray().Single(r =>
                r.GetProperty("area").GetUInt16() == light.GetProperty("area").GetUInt16() && r.GetProperty("rotation").GetUInt32() == light.GetProperty(rotation).GetUInt32());
            Assert.True(rig.Controller.InstallEscortKey(Convert.FromHexString(record.GetProperty("recordHex").GetString()!), 0));
        }

        byte[] frame = Convert.FromHexString(v.GetProperty("hex").GetString()!);
        byte[] advertisement = v.TryGetProperty("advertisementHex", out JsonElement ad)
            ? Convert.FromHexString(ad.GetString()!)
            : StreetlightRig.Advertisement(frame, withFlags: true);
        rig.Phone.Advertise(advertisement, advertisement.Length, StreetlightRig.AdvertisingIntervalMs);
        rig.Run(200);

        StreetlightController c = rig.Controller;
        var counts = new Dictionary<string, int>
        {
            ["ok"] = c.EscortAdvertsAccepted,
            ["bad_tag"] = c.RejectedForged,
            ["stale"] = c.RejectedStale,
            ["replayed"] = c.RejectedReplayed,
            ["wrong_area"] = c.RejectedWrongArea,
            ["stale_epoch"] = c.RejectedStaleEpoch,
            ["malformed"] = c.RejectedMalformed,
        };
        string expect = v.GetProperty("expect").GetString()!;
        string counted = expect is "too_short" or "length_mismatch" or "field_out_of_range" ? "malformed" : expect;
        Assert.Equal(1, counts[counted]);
        Assert.All(counts.Where(kv => kv.Key != counted), kv => Assert.Equal(0, kv.Value));
        Assert.Equal(expect == "ok" ? LightMode.Escort : LightMode.Schedule, c.Mode);
    }
}
