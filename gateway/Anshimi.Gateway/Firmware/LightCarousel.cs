using Anshimi.Gateway.Ble;
using Anshimi.Gateway.Lights;
using Anshimi.Gateway.Storage;
using Anshimi.Protocol;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Security;
using Anshimi.Protocol.Upstream;
using Microsoft.Extensions.Logging;

namespace Anshimi.Gateway.Firmware;

/// <summary>
/// The streetlights' way to a firmware release (protocol/README.md §11.9). <see cref="FirmwareDistribution"/> keeps each
/// light's update as it keeps a Wi-Fi bell's, but what it would publish on the light's <c>…/ota/down</c> comes here: an
/// offer adds the light to its release's carousel — the offer and every chunk cut into advertisement-sized pieces and
/// put on air in rounds, only while the broadcaster has no command or ack waiting, so those never wait for it —; an
/// activate adds to the rounds an activate piece signed with that light's key, so only the lights the release was offered
/// to switch; a trial acceptance goes into the broadcaster's rotation as a piece signed with the light's key; a cancel
/// ends the light's place in the carousel and puts the cancel piece on air for a while. The lights' signed report pieces
/// come back through <see cref="HearAsync"/> and go to the distribution as state reports; a light that downloaded a
/// release before it was offered it is found <see cref="VerifiedFor">verified</see> when its offer comes. A carousel stops
/// when every light it serves is final, cancelled or past the offer's expiry.
/// </summary>
public sealed partial class LightCarousel
{
    public const string Report = "update_report";
    public const string ForgedReport = "bad_tag";
    public const string ReplayedReport = "replayed";
    public const string MalformedPiece = "malformed_piece";
    public const string UnknownLight = "unknown_device";

    /// <summary>How long a trial acceptance or a cancel stays in the broadcaster's rotation.</summary>
    public static readonly TimeSpan PieceAirTime = TimeSpan.FromSeconds(30);

    private readonly DeviceRegistry _registry;
    private readonly BleBroadcaster _broadcaster;
    private readonly BleMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<LightCarousel> _logger;
    private readonly PlatformHmacSha256 _mac = new();
    private readonly Lock _lock = new();
    private readonly List<Carousel> _carousels = [];

    // Highest report counter heard per light, in memory: a restart accepts the next report once.
    private readonly Dictionary<uint, uint> _reportFloors = [];

    // The latest report taken from each light, in memory: after a restart the light's repeats bring it back.
    private readonly Dictionary<uint, UpdateMessage> _lastReports = [];
    private int _turn;

    public LightCarousel(DeviceRegistry registry, BleBroadcaster broadcaster, BleMetrics metrics, TimeProvider time, ILogger<LightCarousel> logger)
    {
        _registry = registry;
        _broadcaster = broadcaster;
        _metrics = metrics;
        _time = time;
        _logger = logger;
        broadcaster.Idle = NextPiece;
    }

    /// <summary>Where the distribution takes a light's report; set by <see cref="FirmwareDistribution"/>.</summary>
    public Func<uint, UpdateMessage, CancellationToken, Task>? Relay { get; set; }

    /// <summary>A checked chunk of a release from the distribution's store, or null while it is not fetched yet.</summary>
    public Func<string, int, byte[]?>? ReadChunk { get; set; }

    /// <summary>Carousels on air.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _carousels.Count;
            }
        }
    }

    /// <summary>Pieces put on air, over all carousels.</summary>
    public long PiecesSent { get; private set; }

    /// <summary>Whole rounds (every piece of a release once) put on air.</summary>
    public int Rounds { get; private set; }

    /// <summary>Whether <paramref name="deviceId"/> is a streetlight, which this carousel serves instead of MQTT.</summary>
    public bool Carries(uint deviceId) =>
        _registry.TryGet(deviceId, out DeviceEntry? device) && string.Equals(device.Profile, LightFanout.LightProfile, StringComparison.Ordinal);

    /// <summary>What the distribution would have published on the light's <c>…/ota/down</c>.</summary>
    public void Send(uint lightId, byte[] payload, DateTimeOffset expiresAt)
    {
        UpdateMessage? message = UpdateMessage.Read(payload);
        if (message is null)
        {
            return;
        }

        DateTimeOffset now = _time.GetUtcNow();
        lock (_lock)
        {
            switch (message.Type)
            {
                case UpdateMessage.Offer:
                    ReleaseManifest? manifest = ReleaseManifest.Read(message.Manifest!);
                    if (manifest is null)
                    {
                        return;
                    }

                    byte[] id = ReleaseManifest.ReleaseIdOf(message.Manifest!, new Sha256());
                    Carousel? carousel = Find(id);
                    if (carousel is null)
                    {
                        carousel = new Carousel(id, payload, manifest);
                        _carousels.Add(carousel);
                        LogStarted(_logger, carousel.ReleaseId, manifest.ChunkCount, carousel.PiecesPerRound);
                    }

                    carousel.Lights[lightId] = expiresAt;
                    break;
                case UpdateMessage.Activate:
                    if (Find(message.ReleaseId) is { } activating && activating.Lights.ContainsKey(lightId) && _registry.TryGet(lightId, out DeviceEntry? verified))
                    {
                        var piece = new byte[CarouselPiece.MaxLength];
                        int length = CarouselPiece.WriteForLight(CarouselPiece.ActivateKind, activating.Id, lightId, verified.Key, _mac, piece, 0);
                        activating.Activations[lightId] = Advertisement(piece, length);
                    }

                    break;
                case UpdateMessage.TrialAccepted:
                    if (_registry.TryGet(lightId, out DeviceEntry? light))
                    {
                        var piece = new byte[CarouselPiece.MaxLength];
                        int length = CarouselPiece.WriteForLight(CarouselPiece.TrialAcceptedKind, message.ReleaseId, lightId, light.Key, _mac, piece, 0);
                        _broadcaster.Put(TrialSlot(lightId), Advertisement(piece, length), now + PieceAirTime);
                    }

                    break;
                case UpdateMessage.Cancel:
                    if (Find(message.ReleaseId) is { } cancelled)
                    {
                        cancelled.Leave(lightId);
                        var piece = new byte[CarouselPiece.MaxLength];
                        int length = CarouselPiece.WriteCancel(message.ReleaseId, piece, 0);
                        _broadcaster.Put("ota-cancel:" + cancelled.ReleaseId, Advertisement(piece, length), now + PieceAirTime);
                        StopIfDone(cancelled);
                    }

                    break;
            }
        }
    }

    /// <summary>
    /// The report of a light that has the whole of <paramref name="releaseId"/> verified but was not yet offered it — it
    /// heard the release on air for its neighbours —, as the answer to the offer just made to it; null when its latest
    /// report is anything else. The report piece names no release: a verified download is taken as this one when its
    /// chunk count is this release's and this release's carousel is on air, as the light only downloads what it hears.
    /// </summary>
    public UpdateMessage? VerifiedFor(uint lightId, byte[] releaseId)
    {
        lock (_lock)
        {
            if (Find(releaseId) is not { } carousel || !_lastReports.TryGetValue(lightId, out UpdateMessage? last) ||
                last.State != UpdateState.Verified || last.ChunksDone != carousel.Manifest.ChunkCount)
            {
                return null;
            }

            return new UpdateMessage
            {
                Type = UpdateMessage.StateReport,
                ReleaseId = carousel.Id,
                State = last.State,
                Reason = last.Reason,
                ChunksDone = last.ChunksDone,
                ChunkCount = carousel.Manifest.ChunkCount,
                Running = last.Running,
                Board = last.Board,
                Profile = last.Profile,
            };
        }
    }

    /// <summary>
    /// A piece heard on air. Only a light's report is for the gateway: checked against the light's key and its last report
    /// counter, then relayed as a state report. Returns the result (the metric label) and, for a refusal, what to log.
    /// </summary>
    public async Task<(string Result, string? Problem)> HearAsync(byte[] piece, CancellationToken cancellationToken)
    {
        if (CarouselPiece.KindOf(piece, 0) != CarouselPiece.ReportKind)
        {
            // Another gateway's carousel: not for us.
            return (BleIngestion.Foreign, null);
        }

        if (piece.Length != CarouselPiece.ReportLength)
        {
            return (MalformedPiece, "report piece of " + piece.Length + " bytes");
        }

        uint lightId = BigEndian.ReadUInt32(piece, 1);
        if (!_registry.TryGet(lightId, out DeviceEntry? light) || !string.Equals(light.Profile, LightFanout.LightProfile, StringComparison.Ordinal))
        {
            return (UnknownLight, "report piece from " + DeviceIdText.Format(lightId));
        }

        if (!CarouselPiece.HasValidTag(piece, 0, piece.Length, light.Key, _mac))
        {
            return (ForgedReport, "report piece from " + light);
        }

        uint counter = BigEndian.ReadUInt32(piece, 5);
        var report = new UpdateMessage
        {
            Type = UpdateMessage.StateReport,
            State = piece[9],
            Reason = piece[10],
            ChunksDone = BigEndian.ReadUInt16(piece, 11),
            Running = ReleaseVersion.Read(piece, 13),
            Board = LightFanout.LightProfile,
            Profile = LightFanout.LightProfile,
        };
        if (UpdateState.NameOf(report.State) is null || (report.Reason != UpdateReason.None && UpdateReason.NameOf(report.Reason) is null))
        {
            return (MalformedPiece, "report piece from " + light + " with state " + report.State + " reason " + report.Reason);
        }

        lock (_lock)
        {
            if (_reportFloors.TryGetValue(lightId, out uint floor) && counter <= floor)
            {
                // The light repeats its latest report until it has news: the same counter again is that repeat.
                return counter == floor ? (BleIngestion.Repeat, null) : (ReplayedReport, "report " + counter + " from " + light);
            }

            _reportFloors[lightId] = counter;
            _lastReports[lightId] = report;
            Carousel? carousel = _carousels.FirstOrDefault(c => c.Lights.ContainsKey(lightId));

            // Idle and a fall-back name no release (§11.5); everything else is about the light's carousel.
            if (carousel is not null && report.State is not (UpdateState.Idle or UpdateState.RolledBack))
            {
                report.ReleaseId = carousel.Id;
                report.ChunkCount = carousel.Manifest.ChunkCount;
            }

            if (carousel is not null && (UpdateState.IsFinal(report.State, report.Reason) || report.State == UpdateState.RolledBack))
            {
                carousel.Leave(lightId);
                StopIfDone(carousel);
            }
            else if (carousel is not null && report.State is not (UpdateState.Verified or UpdateState.Refused))
            {
                // It switched (or lost its download): its activate piece is done. A hold (refused, alarm_pending) keeps it.
                carousel.Activations.Remove(lightId);
            }

            if (report.State is UpdateState.Confirmed or UpdateState.RolledBack)
            {
                _broadcaster.Remove(TrialSlot(lightId));
            }
        }

        if (Relay is { } relay)
        {
            await relay(lightId, report, cancellationToken);
        }

        return (Report, null);
    }

    /// <summary>The broadcaster's filler: the next piece of the carousel whose turn it is, or null with none on air.</summary>
    public byte[]? NextPiece()
    {
        lock (_lock)
        {
            DateTimeOffset now = _time.GetUtcNow();
            foreach (Carousel carousel in _carousels.ToList())
            {
                foreach (uint expired in carousel.Lights.Where(l => l.Value <= now).Select(l => l.Key).ToList())
                {
                    carousel.Leave(expired);
                }

                StopIfDone(carousel);
            }

            if (_carousels.Count == 0)
            {
                return null;
            }

            // Skips what cannot go on air (chunks not fetched, no activate piece asked), at most a round of each carousel.
            int budget = _carousels.Sum(c => c.PiecesPerRound);
            byte[]? piece = null;
            for (int tried = 0; piece is null && tried < budget; tried++)
            {
                _turn %= _carousels.Count;
                piece = _carousels[_turn].Next(ReadChunk, out bool roundEnded);
                if (roundEnded)
                {
                    // Each carousel has a round in turn.
                    Rounds++;
                    _turn++;
                }
            }

            if (piece is not null)
            {
                PiecesSent++;
                _metrics.Advertised("firmware");
            }

            return piece;
        }
    }

    public static string TrialSlot(uint lightId) => "ota-accept:" + DeviceIdText.Format(lightId);

    private static byte[] Advertisement(byte[] piece, int length)
    {
        var advertisement = new byte[BleAdvertisement.MaxLegacyDataLength];
        int written = BleAdvertisement.Write(piece, 0, length, withFlags: false, advertisement, 0);
        return advertisement[..written];
    }

    private Carousel? Find(byte[] releaseId) => _carousels.FirstOrDefault(c => c.Id.AsSpan().SequenceEqual(releaseId));

    private void StopIfDone(Carousel carousel)
    {
        if (carousel.Lights.Count == 0 && _carousels.Remove(carousel))
        {
            LogStopped(_logger, carousel.ReleaseId, carousel.Rounds);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Firmware carousel {ReleaseId}: {Chunks} chunks, {Pieces} pieces a round")]
    private static partial void LogStarted(ILogger logger, string releaseId, int chunks, int pieces);

    [LoggerMessage(Level = LogLevel.Information, Message = "Firmware carousel {ReleaseId} stopped after {Rounds} rounds")]
    private static partial void LogStopped(ILogger logger, string releaseId, int rounds);

    /// <summary>One release on air: the offer's pieces, each chunk's pieces, and an activate piece for each light asked to switch, in rounds.</summary>
    private sealed class Carousel(byte[] id, byte[] offer, ReleaseManifest manifest)
    {
        private int _position;
        private int _cachedIndex = -1;
        private byte[]? _cachedChunk;

        public byte[] Id { get; } = id;

        public string ReleaseId { get; } = Convert.ToHexStringLower(id);

        public ReleaseManifest Manifest { get; } = manifest;

        /// <summary>The lights it serves, each until its offer expires.</summary>
        public Dictionary<uint, DateTimeOffset> Lights { get; } = [];

        /// <summary>The signed activate piece (as advertised) of each light asked to switch, until it reports it went.</summary>
        public Dictionary<uint, byte[]> Activations { get; } = [];

        public int Rounds { get; private set; }

        private int OfferPieces => CarouselPiece.PieceCount(offer.Length, CarouselPiece.OfferDataLength);

        private int PiecesPerChunk => CarouselPiece.PieceCount(Manifest.ChunkSize, CarouselPiece.ChunkDataLength);

        private int ReleasePieces => OfferPieces + (Manifest.ChunkCount * PiecesPerChunk);

        // A round ends with a place for the activate pieces, even when it is empty: the round ends once the last chunk went.
        public int PiecesPerRound => ReleasePieces + Math.Max(1, Activations.Count);

        public void Leave(uint lightId)
        {
            Lights.Remove(lightId);
            Activations.Remove(lightId);
        }

        /// <summary>The next piece of the round (null for a chunk not fetched yet, or no activate piece asked).</summary>
        public byte[]? Next(Func<string, int, byte[]?>? readChunk, out bool roundEnded)
        {
            // Lights that switched leave the round's end: past them, the round has ended.
            if (_position >= PiecesPerRound)
            {
                _position = 0;
                roundEnded = true;
                Rounds++;
                return null;
            }

            var piece = new byte[CarouselPiece.MaxLength];
            int length = 0;
            int position = _position;
            _position = (_position + 1) % PiecesPerRound;
            roundEnded = _position == 0;
            if (roundEnded)
            {
                Rounds++;
            }

            if (position < OfferPieces)
            {
                length = CarouselPiece.WriteOffer(Id, position, offer, piece, 0);
            }
            else if (position - OfferPieces < Manifest.ChunkCount * PiecesPerChunk)
            {
                int index = (position - OfferPieces) / PiecesPerChunk;
                int pieceIndex = (position - OfferPieces) % PiecesPerChunk;
                if (index != _cachedIndex)
                {
                    _cachedChunk = readChunk?.Invoke(ReleaseId, index);
                    _cachedIndex = index;
                }

                // The last chunk may need fewer pieces than the others.
                if (_cachedChunk is null || pieceIndex >= CarouselPiece.PieceCount(_cachedChunk.Length, CarouselPiece.ChunkDataLength))
                {
                    return null;
                }

                length = CarouselPiece.WriteChunk(Id, index, pieceIndex, _cachedChunk, piece, 0);
            }
            else
            {
                int activation = position - ReleasePieces;
                return activation < Activations.Count ? Activations.Values.ElementAt(activation) : null;
            }

            return Advertisement(piece, length);
        }
    }
}
