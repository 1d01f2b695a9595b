using System.Globalization;
using System.Reflection;
using System.Text.Json;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.CloudBridge.Tests.Console;

/// <summary>Every Contact ID code of the protocol, sent as an alarm, is named in Korean and English by what the console reads.</summary>
[Trait("Category", "Privacy")]
public sealed class EventNamesServedTests : IAsyncLifetime
{
    private readonly FakeMqttClient _mqtt = new();
    private CloudBridgeHost _host = null!;

    public async Task InitializeAsync() => _host = await CloudBridgeHost.StartAsync(_mqtt);

    public async Task DisposeAsync() => await _host.DisposeAsync();

    /// <summary>The codes devices, the gateway and the app send: every code constant of the protocol except the bounds.</summary>
    public static TheoryData<int> ProtocolCodes() => new(Codes());

    private static IEnumerable<int> Codes() =>
        typeof(ContactIdCode).GetFields(BindingFlags.Public | BindingFlags.Static)
            .Where(f => f.IsLiteral && f.Name is not (nameof(ContactIdCode.None) or nameof(ContactIdCode.Max)))
            .Select(f => (int)(ushort)f.GetRawConstantValue()!);

    [Fact]
    public void The_protocol_lists_the_codes_the_doorbell_and_the_gateways_box_send()
    {
        int[] codes = [.. Codes()];
        Assert.Contains(150, codes);
        Assert.Contains(901, codes);
        Assert.Contains(330, codes);
        Assert.Contains(308, codes);
    }

    [Theory]
    [MemberData(nameof(ProtocolCodes))]
    public async Task Each_code_has_a_Korean_and_an_English_name_in_the_alarm_the_console_reads(int code)
    {
        uint device = 0x00E00000u + (uint)code;
        string key = new AlarmKey(device, 1).ToString();
        await _host.InjectAsync(TestAlarms.EventsTopic(), TestAlarms.Alarm(device, 1, TestAlarms.SeoulCityHall, code: code));

        using HttpResponseMessage response = await _host.Http.GetAsync(new Uri("/api/alarms/" + key, UriKind.Relative));
        response.EnsureSuccessStatusCode();
        using JsonDocument alarm = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        JsonElement named = alarm.RootElement.GetProperty("event");

        string number = code.ToString(CultureInfo.InvariantCulture);
        Assert.Equal(code, named.GetProperty("code").GetInt32());
        string? ko = named.GetProperty("nameKo").GetString();
        string? en = named.GetProperty("nameEn").GetString();
        Assert.False(string.IsNullOrWhiteSpace(ko));
        Assert.False(string.IsNullOrWhiteSpace(en));
        Assert.DoesNotContain(number, ko, StringComparison.Ordinal);
        Assert.DoesNotContain(number, en, StringComparison.Ordinal);
        Assert.Contains(ko!, c => c is >= '가' and <= '힣');
        Assert.All(en!, c => Assert.True(char.IsAscii(c)));
    }
}
