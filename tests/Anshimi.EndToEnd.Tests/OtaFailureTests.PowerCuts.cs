using System.Text.Json;
using Anshimi.DeviceSim;
using Anshimi.Firmware.Host;
using Anshimi.Firmware.Ota;

namespace Anshimi.EndToEnd.Tests;

public sealed partial class OtaFailureTests
{
    private const int CutBells = 12;

    /// <summary>
    /// A power cut in the middle of each kind of flash write of an update, on bells in a real rollout: a chunk, the
    /// <c>download</c> record, each slot file, the activation, the trial's boot count and the confirmation, each at the
    /// steps that matter (a record half-written beside the old entry, and the old entry deleted before the rename; a slot
    /// file half-written). The cut points come from a dry run: the flash writes one bell's update made, counted on the same
    /// stack. After the power comes back every bell boots a whole slot, alarms to the console and ends on the new release
    /// confirmed or on the old one with the failure in the cloud's device list, and stops restarting.
    /// </summary>
    [Fact]
    public Task A_power_cut_at_each_kind_of_flash_write_of_an_update_leaves_every_bell_alarming_and_final_in_the_console() => RunAsync(async (rig, ct) =>
    {
        // The dry run: the shop bell takes a release only shop bells fit, while its power counts the update's writes.
        SimulatedDevice dry = rig.Fleet.Devices[0];
        dry.Power.Plan(int.MaxValue, CutStep.BeforeWrite, IsUpdateWrite);
        Release dryRun = rig.Pack("1.1.0", kinds: ["shop"]);
        string dryRollout = await rig.RollOutAsync(dryRun, ct, [dry]);
        await Fleet.Until(async () => await rig.RolloutStateAsync(dryRollout, ct) == "completed", TimeSpan.FromSeconds(60), "the dry run's rollout completed", ct);
        IReadOnlyList<FlashWrite> writes = dry.Power.Counted;
        output.WriteLine("the flash writes of one update: " + string.Join(", ", writes));

        (string What, int Write, CutStep Step)[] cuts = CutsOf(writes);
        SimulatedDevice[] bells = [.. rig.Fleet.Devices.Skip(1)];
        Assert.Equal(cuts.Length, bells.Length);
        for (int i = 0; i < cuts.Length; i++)
        {
            bells[i].Power.Plan(cuts[i].Write, cuts[i].Step, IsUpdateWrite);
        }

        // The same update, on every other bell at once; one failing must not cancel the others.
        Release v2 = rig.Pack("1.1.0", kinds: ["home"]);
        string rolloutId = await rig.RollOutAsync(v2, ct, bells, failureThreshold: 0.99);
        string[] outcomes = await Task.WhenAll(bells.Select((bell, i) => CutAndRecoverAsync(rig, bell, cuts[i].What + " at " + cuts[i].Step, ct)));
        output.WriteLine(string.Join(Environment.NewLine, outcomes));

        if (outcomes.All(o => o.EndsWith("confirmed", StringComparison.Ordinal)))
        {
            await Fleet.Until(async () => await rig.RolloutStateAsync(rolloutId, ct) == "completed", TimeSpan.FromSeconds(30), "the rollout completed", ct);
        }
    }, ["shop", .. Enumerable.Repeat("home", CutBells)]);

    /// <summary>The update's own writes: the loader and download records and the files under <c>ota/</c>; the bell's other records interleave by timing.</summary>
    private static bool IsUpdateWrite(FlashWrite write) =>
        write.Entry is LoaderRecord.Name or UpdateClient.DownloadRecord || write.Entry.StartsWith("ota/", StringComparison.Ordinal);

    /// <summary>Each kind of write of the counted update, by its 1-based position, with the steps cut at.</summary>
    private static (string What, int Write, CutStep Step)[] CutsOf(IReadOnlyList<FlashWrite> writes)
    {
        int[] Positions(Func<FlashWrite, bool> match) => [.. writes.Select((w, i) => (w, i)).Where(x => match(x.w)).Select(x => x.i + 1)];

        int[] chunks = Positions(w => w is { Entry: "ota/part", Deletes: false });
        int[] downloads = Positions(w => w.Entry == UpdateClient.DownloadRecord);
        int[] loader = Positions(w => w.Entry == LoaderRecord.Name);
        int[] assemblies = Positions(w => !w.Deletes && w.Entry.EndsWith(".pe", StringComparison.Ordinal));
        int[] signatures = Positions(w => !w.Deletes && w.Entry.EndsWith("/" + SlotLoader.SignatureFile, StringComparison.Ordinal));
        int[] manifests = Positions(w => !w.Deletes && w.Entry.EndsWith("/" + SlotLoader.ManifestFile, StringComparison.Ordinal));

        // 8 chunks of 1 KiB, two assemblies; the loader record is written to switch, to count the trial boot and to confirm.
        Assert.Equal(8, chunks.Length);
        Assert.Equal(2, assemblies.Length);
        Assert.Single(signatures);
        Assert.Single(manifests);
        Assert.Equal(3, loader.Length);
        Assert.True(loader[0] > manifests[0] && manifests[0] > signatures[0] && signatures[0] > assemblies[^1] && assemblies[0] > chunks[^1]);
        int chunk = chunks[chunks.Length / 2];
        int download = downloads.First(d => d > chunk);

        return
        [
            ("a chunk", chunk, CutStep.NewHalfWritten),
            ("the download record", download, CutStep.NewHalfWritten),
            ("the download record", download, CutStep.OldDeleted),
            ("an assembly", assemblies[0], CutStep.NewHalfWritten),
            ("the signature", signatures[0], CutStep.NewHalfWritten),
            ("the manifest", manifests[0], CutStep.NewHalfWritten),
            ("the activation", loader[0], CutStep.NewHalfWritten),
            ("the activation", loader[0], CutStep.OldDeleted),
            ("the trial's boot count", loader[1], CutStep.NewHalfWritten),
            ("the trial's boot count", loader[1], CutStep.OldDeleted),
            ("the confirmation", loader[2], CutStep.NewHalfWritten),
            ("the confirmation", loader[2], CutStep.OldDeleted),
        ];
    }

    /// <summary>Waits for the bell's power to go at its planned write, brings it back and follows it to its end state.</summary>
    private static async Task<string> CutAndRecoverAsync(Rig rig, SimulatedDevice bell, string where, CancellationToken ct)
    {
        string who = bell.Record.DeviceId + ", cut at " + where;
        await Fleet.Until(() => bell.Power.HasCut, TimeSpan.FromSeconds(90), who + ": the power cut", ct);

        // Off for a moment: nothing of that boot runs on.
        await Task.Delay(500, ct);
        Assert.True(bell.Power.IsOff, who);
        bell.PowerCycle();

        // The new release confirmed, or the old one with the failure and its reason in the console.
        JsonElement row = default;
        await Fleet.Until(async () =>
        {
            row = await rig.DeviceAsync(ct, bell);
            string? state = Text(row, "state");
            return (state == "confirmed" && Text(row, "runningVersion") == "1.1.0") ||
                (state is "failed" or "rolled-back" && Text(row, "reason") is not null && Text(row, "runningVersion") == "1.0.0");
        }, TimeSpan.FromSeconds(90), who + ": final in the console", ct);
        string version = Text(row, "runningVersion")!;

        // Never bricked and never in a loop: a whole slot, off trial, and the same boot for a while.
        DeviceUpdates updates = bell.Updates!;
        Assert.False(updates.Boot.SafeMode, who);
        Assert.Equal(version, updates.Boot.Record.ActiveVersion.ToString());
        await Task.Delay(3000, ct);
        Assert.Same(updates, bell.Updates);
        Assert.False(updates.Boot.Record.OnTrial, who + ": still on trial");

        await rig.StillWorksOnAsync(version, ct, bell);
        return who + ": " + version + " " + Text(row, "state") + (Text(row, "reason") is { } reason ? " (" + reason + ")" : "");
    }
}
