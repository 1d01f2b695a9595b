using Anshimi.Gateway.Storage;
using Anshimi.Gateway.Supervision;
using Anshimi.Protocol;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Anshimi.Gateway.Tests.Supervision;

public sealed class SupervisionTrackerTests
{
    private static readonly TimeSpan Minute = TimeSpan.FromMinutes(1);
    private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

    private readonly FakeTimeProvider _clock = GatewayHarness.NewClock();
    private readonly RecordingSink _sink = new();

    [Fact]
    public void Silent_device_raises_communication_trouble_once_after_its_interval_and_not_before()
    {
        SupervisionTracker tracker = NewTracker();
        tracker.Track([Device(1, "home")]);

        _clock.Advance(Minute);
        Assert.Equal(0, tracker.Check());
        Assert.Empty(_sink.Events);

        _clock.Advance(Second);
        Assert.Equal(1, tracker.Check());
        Assert.Equal([new Raised(1, "home", ContactIdCode.CommunicationTrouble, ContactIdQualifier.NewEvent)], _sink.Events);
        Assert.Equal(1, tracker.SilentCount);

        for (int i = 0; i < 60; i++)
        {
            _clock.Advance(Minute);
            tracker.Check();
        }

        Assert.Single(_sink.Events);
    }

    [Fact]
    public void Device_heard_again_is_restored_once_and_can_fall_silent_again()
    {
        SupervisionTracker tracker = NewTracker();
        DeviceEntry device = Device(7, "shop");
        tracker.Track([device]);
        _clock.Advance(Minute + Second);
        tracker.Check();

        tracker.Heard(device);
        tracker.Heard(device);
        tracker.Check();

        Assert.Equal(
            [
                new Raised(7, "shop", ContactIdCode.CommunicationTrouble, ContactIdQualifier.NewEvent),
                new Raised(7, "shop", ContactIdCode.CommunicationTrouble, ContactIdQualifier.Restore),
            ],
            _sink.Events);
        Assert.Equal(0, tracker.SilentCount);

        _clock.Advance(Minute + Second);
        tracker.Check();
        Assert.Equal(3, _sink.Events.Count);
        Assert.Equal(ContactIdQualifier.NewEvent, _sink.Events[2].Qualifier);
    }

    [Fact]
    public void Each_profile_is_held_to_its_own_interval()
    {
        SupervisionTracker tracker = NewTracker();
        tracker.Track([Device(1, "home"), Device(2, "battery"), Device(3, "voice"), Device(4, "unlisted")]);

        _clock.Advance(Minute + Second);
        tracker.Check();
        Assert.Equal([1u, 3u], _sink.Events.Select(e => e.DeviceId).Order());

        _clock.Advance(TimeSpan.FromMinutes(2));
        tracker.Check();
        Assert.Equal(4u, _sink.Events[^1].DeviceId);

        _clock.Advance(TimeSpan.FromHours(2) - TimeSpan.FromSeconds(181));
        tracker.Check();
        Assert.DoesNotContain(_sink.Events, e => e.DeviceId == 2);

        _clock.Advance(Second);
        tracker.Check();
        Assert.Equal(new Raised(2, "battery", ContactIdCode.CommunicationTrouble, ContactIdQualifier.NewEvent), _sink.Events[^1]);
        Assert.Equal(4, tracker.SilentCount);
    }

    [Fact]
    public void Heartbeats_within_the_interval_keep_a_device_quiet()
    {
        SupervisionTracker tracker = NewTracker();
        DeviceEntry device = Device(1, "home");
        tracker.Track([device]);

        for (int i = 0; i < 24 * 60; i++)
        {
            _clock.Advance(TimeSpan.FromSeconds(59));
            tracker.Heard(device);
            tracker.Heard(device);
            tracker.Check();
        }

        Assert.Empty(_sink.Events);
        Assert.Equal(1, tracker.TrackedCount);
    }

    [Fact]
    public void An_accepted_alarm_counts_as_hearing_from_the_device()
    {
        // Devices first heard after startup (not in the registry at start) are supervised too.
        SupervisionTracker tracker = NewTracker();
        tracker.Heard(Device(9, "voice"));

        _clock.Advance(Minute + Second);
        tracker.Check();

        Assert.Equal([new Raised(9, "voice", ContactIdCode.CommunicationTrouble, ContactIdQualifier.NewEvent)], _sink.Events);
    }

    [Fact]
    public void Ten_thousand_devices_cost_one_step_per_heartbeat_and_checks_look_only_at_list_heads()
    {
        SupervisionTracker tracker = NewTracker();
        string[] profiles = ["home", "shop", "voice", "battery"];
        DeviceEntry[] fleet = [.. Enumerable.Range(1, 10_000).Select(i => Device((uint)i, profiles[i % profiles.Length]))];
        tracker.Track(fleet);

        for (int round = 0; round < 5; round++)
        {
            _clock.Advance(TimeSpan.FromSeconds(30));
            long before = tracker.Steps;
            foreach (DeviceEntry device in fleet)
            {
                tracker.Heard(device);
            }

            Assert.Equal(fleet.Length, tracker.Steps - before);

            before = tracker.Steps;
            Assert.Equal(0, tracker.Check());
            Assert.Equal(profiles.Length, tracker.Steps - before);
        }

        // One device stops: the check examines it and the next head of each list, not the fleet.
        _clock.Advance(TimeSpan.FromSeconds(30));
        foreach (DeviceEntry device in fleet.Where(d => d.Id != 42))
        {
            tracker.Heard(device);
        }

        _clock.Advance(TimeSpan.FromSeconds(31));
        long start = tracker.Steps;
        Assert.Equal(1, tracker.Check());
        Assert.Equal(profiles.Length + 1, tracker.Steps - start);
        Assert.Equal(42u, Assert.Single(_sink.Events).DeviceId);
        Assert.Equal(10_000, tracker.TrackedCount);
    }

    [Fact]
    public void After_a_restart_devices_count_from_startup_so_one_silent_before_it_is_caught_one_interval_later()
    {
        // The registry remembers a device last seen an hour before the gateway restarted.
        DeviceEntry stale = Device(5, "home");
        stale.LastSeen = _clock.GetUtcNow() - TimeSpan.FromHours(1);
        DeviceEntry fresh = Device(6, "home");
        SupervisionTracker restarted = NewTracker();
        restarted.Track([stale, fresh]);

        Assert.Equal(0, restarted.Check());

        _clock.Advance(TimeSpan.FromSeconds(30));
        restarted.Heard(fresh);
        _clock.Advance(TimeSpan.FromSeconds(31));
        restarted.Check();

        Assert.Equal([new Raised(5, "home", ContactIdCode.CommunicationTrouble, ContactIdQualifier.NewEvent)], _sink.Events);
    }

    [Fact]
    public void Tracking_the_registry_does_not_reset_a_device_already_heard()
    {
        SupervisionTracker tracker = NewTracker();
        DeviceEntry device = Device(3, "home");
        tracker.Heard(device);

        _clock.Advance(TimeSpan.FromSeconds(50));
        tracker.Track([device]);
        _clock.Advance(TimeSpan.FromSeconds(11));
        tracker.Check();

        Assert.Single(_sink.Events);
    }

    private static DeviceEntry Device(uint id, string profile) =>
        new(id, new byte[32], profile, new SiteInfo("home", 37.5665, 126.978, "Seoul"), "11110");

    private SupervisionTracker NewTracker() => new(Options.Create(new SupervisionOptions()), _sink, _clock);

    private sealed record Raised(uint DeviceId, string Profile, ushort Code, byte Qualifier);

    private sealed class RecordingSink : ISupervisionSink
    {
        public List<Raised> Events { get; } = [];

        public void Raise(uint deviceId, string profile, ushort code, byte qualifier) => Events.Add(new Raised(deviceId, profile, code, qualifier));
    }
}
