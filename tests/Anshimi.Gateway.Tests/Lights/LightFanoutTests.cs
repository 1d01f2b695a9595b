using Anshimi.Ble;
using Anshimi.Ble.Simulation;
using Anshimi.Gateway.Lights;
using Anshimi.Gateway.Tests.Ble;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;

namespace Anshimi.Gateway.Tests.Lights;

public sealed class LightFanoutTests : IAsyncLifetime
{
    private BleGateway _gateway = null!;

    public async Task InitializeAsync() => _gateway = await BleGateway.StartAsync();

    public async Task DisposeAsync() => await _gateway.DisposeAsync();

    [Fact]
    public async Task Lights_confirm_even_after_missing_broadcasts_a_silent_one_expires_and_unknown_lights_are_answered_at_once()
    {
        TestDevice[] lights = _gateway.Lights;
        SimulatedStreetlight first = _gateway.AddLight(lights[0]);
        SimulatedStreetlight late = _gateway.AddLight(lights[1]);
        SimulatedStreetlight lossy = _gateway.AddLight(lights[2]);

        // lights[1] misses the first eight transmissions of its own command; lights[2] loses half of what the gateway sends; lights[3] never answers.
        _gateway.Air.AddRule(AirspaceRule.DropFirst(8, t => t.From == BleGateway.GatewayAddress && CommandTarget(t.Data) == late.Id));
        _gateway.Air.AddRule(AirspaceRule.DropRandom(0.5, seed: 11, from: BleGateway.GatewayAddress, to: BleGateway.AddressOf(lights[2])));
        DateTimeOffset expiresAt = _gateway.Harness.Time.GetUtcNow().AddSeconds(20);
        string[] requested = [.. lights.Select(l => DeviceIdText.Format(l.Id)), "0000FFFF", "not-a-light", DeviceIdText.Format(_gateway.Bell.Id)];

        await SendAsync(new LightCommandEnvelope("req-1", LightModeName.Emergency, requested, 0, expiresAt));

        // Unknown lights need no radio: answered before any broadcast.
        Assert.Equal(
            ["0000FFFF", "not-a-light", DeviceIdText.Format(_gateway.Bell.Id)],
            _gateway.Outcomes().Where(o => o.Outcome == LightOutcomeName.UnknownLight).Select(o => o.LightId).ToArray());

        await _gateway.RunAsync(TimeSpan.FromSeconds(30), until: () => _gateway.Outcomes().Count == requested.Length);

        IReadOnlyList<LightOutcomeEnvelope> outcomes = _gateway.Outcomes();
        Assert.Equal(requested.Length, outcomes.Count);
        Assert.All(outcomes, o => Assert.Equal("req-1", o.RequestId));
        Assert.All(outcomes, o => Assert.Equal(GatewayHarness.GatewayId, o.GatewayId));
        Assert.All(outcomes, o => Assert.Equal(LightModeName.Emergency, o.Mode));
        Assert.Equal(LightOutcomeName.Confirmed, OutcomeOf(outcomes, lights[0]));
        Assert.Equal(LightOutcomeName.Confirmed, OutcomeOf(outcomes, lights[1]));
        Assert.Equal(LightOutcomeName.Confirmed, OutcomeOf(outcomes, lights[2]));
        Assert.Equal(LightOutcomeName.Expired, OutcomeOf(outcomes, lights[3]));
        Assert.True(outcomes.Single(o => o.LightId == DeviceIdText.Format(lights[3].Id)).At >= expiresAt);

        Assert.All(new[] { first, late, lossy }, light => Assert.Equal(LightMode.Emergency, light.Mode));
        Assert.Single(late.AcceptedAt);
        Assert.True(late.AcceptedAt[0] > first.AcceptedAt[0], "the light that missed the first broadcast was commanded later");
        Assert.True(_gateway.Air.Dropped >= 8);
        Assert.Equal(0, first.Forged + late.Forged + lossy.Forged);

        // Nothing is left on air once every light is settled.
        Assert.Equal(0, _gateway.Fanout.PendingCount);
        await _gateway.RunAsync(TimeSpan.FromSeconds(1));
        Assert.Null(_gateway.Harness.Get<Anshimi.Gateway.Ble.BleBroadcaster>().OnAir);
        Assert.Equal(3, _gateway.Harness.Metric("anshimi_gateway_lights_outcomes_total{outcome=\"confirmed\"}"));
        Assert.Equal(1, _gateway.Harness.Metric("anshimi_gateway_lights_outcomes_total{outcome=\"expired\"}"));
        Assert.Equal(3, _gateway.Harness.Metric("anshimi_gateway_lights_outcomes_total{outcome=\"unknown-light\"}"));
    }

    [Fact]
    public async Task An_escort_is_refreshed_while_requested_and_runs_out_after()
    {
        SimulatedStreetlight light = _gateway.AddLight(_gateway.Lights[0]);
        DateTimeOffset start = _gateway.Harness.Time.GetUtcNow();
        DateTimeOffset expiresAt = start.AddSeconds(60);

        await SendAsync(new LightCommandEnvelope("walk-1", LightModeName.Escort, [DeviceIdText.Format(light.Id)], 15, expiresAt));
        while (_gateway.Harness.Time.GetUtcNow() < expiresAt - TimeSpan.FromSeconds(1))
        {
            await _gateway.RunAsync(TimeSpan.FromSeconds(1));
            Assert.Equal(LightMode.Escort, light.Mode);
        }

        // A 15 s hold over 60 s needs refreshing: one command every 5 s.
        int whileRequested = light.AcceptedAt.Count;
        Assert.InRange(whileRequested, 10, 13);
        LightOutcomeEnvelope outcome = Assert.Single(_gateway.Outcomes());
        Assert.Equal(LightOutcomeName.Confirmed, outcome.Outcome);

        await _gateway.RunAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(whileRequested, light.AcceptedAt.Count);
        Assert.True(light.AcceptedAt[^1] < expiresAt);
        Assert.Equal(LightMode.Schedule, light.Mode);
        Assert.Single(_gateway.Outcomes());
    }

    [Fact]
    public async Task A_newer_request_supersedes_an_older_one_for_the_same_light()
    {
        SimulatedStreetlight light = _gateway.AddLight(_gateway.Lights[0]);
        string lightId = DeviceIdText.Format(light.Id);
        string silentId = DeviceIdText.Format(_gateway.Lights[3].Id);
        DateTimeOffset now = _gateway.Harness.Time.GetUtcNow();

        await SendAsync(new LightCommandEnvelope("sos-1", LightModeName.Emergency, [lightId, silentId], 0, now.AddMinutes(5)));
        await _gateway.RunAsync(TimeSpan.FromSeconds(10), until: () => _gateway.Outcomes().Count == 1);
        Assert.Equal(LightMode.Emergency, light.Mode);

        await SendAsync(new LightCommandEnvelope("sos-1-end", LightModeName.Release, [lightId, silentId], 0, now.AddSeconds(20)));
        await SendAsync(new LightCommandEnvelope("sos-1-end", LightModeName.Release, [lightId, silentId], 0, now.AddSeconds(20)));
        await _gateway.RunAsync(TimeSpan.FromSeconds(30), until: () => _gateway.Outcomes().Count == 4);

        Assert.Equal(
            [("sos-1", lightId, "confirmed"), ("sos-1", silentId, "superseded"), ("sos-1-end", lightId, "confirmed"), ("sos-1-end", silentId, "expired")],
            _gateway.Outcomes().Select(o => (o.RequestId, o.LightId, o.Outcome)).ToArray());
        Assert.Equal(LightMode.Schedule, light.Mode);
    }

    [Fact]
    [Trait("Category", "Protocol")]
    public async Task A_light_that_lost_power_and_refuses_the_rest_of_its_block_gets_the_command_again_from_the_next_block()
    {
        SimulatedStreetlight light = _gateway.AddLight(_gateway.Lights[0]);
        string lightId = DeviceIdText.Format(light.Id);
        DateTimeOffset start = _gateway.Harness.Time.GetUtcNow();
        await SendAsync(new LightCommandEnvelope("sos", LightModeName.Emergency, [lightId], 0, start.AddMinutes(2)));
        await _gateway.RunAsync(TimeSpan.FromSeconds(10), until: () => _gateway.Outcomes().Count == 1);
        uint before = light.LastCommandCounter;
        Assert.True(before < CounterBlock.LightCommand);

        // The light loses power and comes back on its schedule; the operator asks for the emergency again.
        light.PowerCut();
        DateTimeOffset again = _gateway.Harness.Time.GetUtcNow();
        await SendAsync(new LightCommandEnvelope("sos-2", LightModeName.Emergency, [lightId], 0, start.AddMinutes(2)));
        await _gateway.RunAsync(TimeSpan.FromSeconds(30), until: () => _gateway.Outcomes().Count == 2);

        LightOutcomeEnvelope outcome = _gateway.Outcomes()[1];
        Assert.Equal(("sos-2", LightOutcomeName.Confirmed), (outcome.RequestId, outcome.Outcome));
        Assert.True(outcome.At - again >= LightFanout.UnconfirmedResign, "confirmed only once the frame was signed again");
        Assert.Equal(CounterBlock.LightCommand, light.LastCommandCounter);
        Assert.Equal(LightMode.Emergency, light.Mode);
    }

    [Fact]
    public async Task Downlink_counters_keep_rising_across_a_gateway_restart_so_the_light_still_obeys()
    {
        SimulatedStreetlight light = _gateway.AddLight(_gateway.Lights[0]);
        string lightId = DeviceIdText.Format(light.Id);
        DateTimeOffset now = _gateway.Harness.Time.GetUtcNow();
        await SendAsync(new LightCommandEnvelope("a", LightModeName.Emergency, [lightId], 0, now.AddMinutes(1)));
        await _gateway.RunAsync(TimeSpan.FromSeconds(10), until: () => _gateway.Outcomes().Count == 1);
        uint before = light.LastCommandCounter;
        Assert.True(before > 0);

        await _gateway.RestartAsync();
        await SendAsync(new LightCommandEnvelope("b", LightModeName.Release, [lightId], 0, now.AddMinutes(1)));
        await _gateway.RunAsync(TimeSpan.FromSeconds(10), until: () => _gateway.Outcomes().Count == 1);

        Assert.Equal(LightOutcomeName.Confirmed, Assert.Single(_gateway.Outcomes()).Outcome);
        Assert.True(light.LastCommandCounter > before);
        Assert.Equal(LightMode.Schedule, light.Mode);
        Assert.True(_gateway.Harness.Count("SELECT downlink_reserved FROM light_state WHERE light_id = " + light.Id) >= light.LastCommandCounter);
    }

    [Theory]
    [InlineData("disco", 10)]
    [InlineData(LightModeName.Escort, 0)]
    [InlineData(LightModeName.Emergency, -1)]
    [InlineData(LightModeName.Emergency, 70000)]
    public async Task Invalid_light_commands_are_counted_and_change_nothing(string mode, int holdSeconds)
    {
        await SendAsync(new LightCommandEnvelope("bad", mode, [DeviceIdText.Format(_gateway.Lights[0].Id)], holdSeconds, _gateway.Harness.Time.GetUtcNow().AddMinutes(1)));

        Assert.Equal(1, _gateway.Harness.Metric("anshimi_gateway_commands_rejected_total{reason=\"bad_light_command\"}"));
        Assert.Equal(0, _gateway.Fanout.PendingCount);
        Assert.Empty(_gateway.Outcomes());
    }

    private static string OutcomeOf(IReadOnlyList<LightOutcomeEnvelope> outcomes, TestDevice light) =>
        outcomes.Single(o => o.LightId == DeviceIdText.Format(light.Id)).Outcome;

    /// <summary>The light a command advertisement is addressed to, 0 for anything else.</summary>
    private static uint CommandTarget(byte[] advertisement)
    {
        if (!BleAdvertisement.TryFindFrame(advertisement, 0, advertisement.Length, out int offset, out int length))
        {
            return 0;
        }

        FrameReadResult frame = FrameCodec.ReadUnverified(advertisement, offset, length);
        return frame.IsOk && frame.Frame!.Type == FrameType.Command ? frame.Frame.DeviceId : 0;
    }

    private Task SendAsync(LightCommandEnvelope command) =>
        _gateway.Harness.Commands.HandleAsync(EnvelopeSerializer.Serialize(command), CancellationToken.None);
}
