using Anshimi.Firmware.Hal;
using Anshimi.Protocol;
using Anshimi.Protocol.Ota;
using Anshimi.Protocol.Provisioning;
using Anshimi.Protocol.Security;

namespace Anshimi.Firmware.Ota
{
    /// <summary>Timings of a light's carousel receiver (protocol/README.md §11.9).</summary>
    public sealed class CarouselReceiverSettings
    {
        /// <summary>How often the latest state report goes on air again while there is news or a carousel is heard.</summary>
        public int ReportRepeatMs = 10000;

        /// <summary>How long after the last change or the last piece heard the report keeps being repeated.</summary>
        public int ReportForMs = 60000;

        public int AdvertisingIntervalMs = 100;

        /// <summary>Pieces that may wait between two ticks; more are dropped and counted.</summary>
        public int QueueCapacity = 64;
    }

    /// <summary>
    /// A streetlight's side of the BLE carousel (protocol/README.md §11.9) and its <see cref="IUpdateLink"/>: puts the
    /// offer and each chunk together from the pieces it hears, checks the offer's signature and each chunk's SHA-256
    /// before the <see cref="UpdateClient"/> sees them (a forged piece costs the light that chunk for one round, and is
    /// counted), hands over cancel for its download and the activate and trial acceptance signed for it with its own key, and
    /// advertises the client's state reports as signed report pieces. Pieces are queued on the radio's thread and handled
    /// in <see cref="Tick"/>, on the light's loop.
    /// </summary>
    public sealed class CarouselReceiver : IUpdateLink
    {
        /// <summary>Flash entry: the next report counter (reports are few: a write each is cheap).</summary>
        public const string ReportCounterRecord = "otareport";

        /// <summary>The largest offer a light puts together: the cloud refuses manifests above 8,192 bytes (§11.7).</summary>
        public const int MaxOfferLength = 4 + 8192 + 64;

        private readonly uint _lightId;
        private readonly byte[] _key;
        private readonly IBleRadio _radio;
        private readonly IClock _clock;
        private readonly IDeviceStorage _records;
        private readonly ReleaseKeys _keys;
        private readonly BootResult _boot;
        private readonly IHmacSha256 _mac;
        private readonly CarouselReceiverSettings _settings;
        private readonly Sha256 _sha = new Sha256();
        private readonly PayloadRing _queue;
        private readonly object _queueLock = new object();
        private readonly byte[] _advertisement = new byte[BleAdvertisement.MaxLegacyDataLength];
        private readonly byte[] _piece = new byte[CarouselPiece.MaxLength];

        private UpdateClient? _client;

        private byte[]? _offer;
        private byte[]? _offerPieces;
        private byte[] _offerTag = new byte[CarouselPiece.ReleaseTagLength];
        private int _offerLength = -1;

        private byte[]? _chunk;
        private byte[]? _chunkPieces;
        private int _chunkIndex = -1;

        // A release this light has settled: it runs it, or its signed manifest does not fit this light.
        private byte[]? _settled;

        private byte[]? _report;
        private int _reportLength;
        private long _reportChangedMs = long.MinValue;
        private long _pieceHeardMs = long.MinValue;
        private long _reportedMs;

        public CarouselReceiver(
            uint lightId, byte[] key, IBleRadio radio, IClock clock, IDeviceStorage records, ReleaseKeys keys, BootResult boot, IHmacSha256 mac,
            CarouselReceiverSettings settings)
        {
            _lightId = lightId;
            _key = key;
            _radio = radio;
            _clock = clock;
            _records = records;
            _keys = keys;
            _boot = boot;
            _mac = mac;
            _settings = settings;
            _queue = new PayloadRing(settings.QueueCapacity);
            radio.AdvertisementReceived += OnAdvertisement;
        }

        /// <summary>Pieces whose offer signature or chunk hash did not check, and activations and trial acceptances in this light's name with a bad tag.</summary>
        public int RejectedForged { get; private set; }

        /// <summary>Pieces of our marker whose fields do not fit their kind.</summary>
        public int RejectedMalformed { get; private set; }

        /// <summary>Pieces lost because too many arrived between two ticks.</summary>
        public int DroppedPieces { get; private set; }

        /// <summary>Chunks put together and handed to the client.</summary>
        public int ChunksAssembled { get; private set; }

        /// <summary>State reports put on air.</summary>
        public int ReportsSent { get; private set; }

        /// <summary>Milliseconds since the latest report went on air (a restart waits until it had air time).</summary>
        public long MsSinceReport
        {
            get { return _clock.MonotonicMs - _reportedMs; }
        }

        /// <summary>How long the report before a restart (activating, a trial out of time) stays on air first.</summary>
        public const int ReportAirMs = 1000;

        /// <summary>The light may restart now: its client asked, and its last report had a second on air, so the gateway hears it go.</summary>
        public bool MayRestart
        {
            get { return MsSinceReport >= ReportAirMs; }
        }

        public bool IsConnected
        {
            get { return true; }
        }

        public bool AsksForChunks
        {
            get { return false; }
        }

        /// <summary>The client this receiver feeds; it is made with this receiver as its link.</summary>
        public void Attach(UpdateClient client)
        {
            _client = client;
        }

        public bool Open()
        {
            return true;
        }

        /// <summary>A state report from the client: signed, on air at once, and repeated by <see cref="Tick"/>.</summary>
        public bool Send(byte[] message)
        {
            UpdateMessage? report = UpdateMessage.Read(message);
            if (report == null || report.Type != UpdateMessage.StateReport)
            {
                return true;
            }

            if (report.State == UpdateState.Confirmed ||
                (report.State == UpdateState.Refused && (report.Reason == UpdateReason.WrongKind || report.Reason == UpdateReason.WrongBoard ||
                report.Reason == UpdateReason.Downgrade || report.Reason == UpdateReason.TooOld)))
            {
                _settled = report.ReleaseId;
            }

            byte[]? counterImage = _records.Read(ReportCounterRecord);
            uint counter = counterImage != null && counterImage.Length == 4 ? BigEndian.ReadUInt32(counterImage, 0) : 1;
            var next = new byte[4];
            BigEndian.WriteUInt32(next, 0, counter + 1);

            // The counter is in flash before a report carries it: none is signed twice.
            if (!_records.Write(ReportCounterRecord, next))
            {
                return false;
            }

            int length = CarouselPiece.WriteReport(_lightId, counter, report.State, report.Reason, report.ChunksDone, report.Running, _key, _mac, _piece, 0);
            _reportLength = BleAdvertisement.Write(_piece, 0, length, false, _advertisement, 0);
            _report = _advertisement;
            _reportChangedMs = _clock.MonotonicMs;
            Advertise();
            return true;
        }

        /// <summary>Handles the pieces heard since the last tick and repeats the latest report when due.</summary>
        public void Tick()
        {
            while (true)
            {
                byte[]? data;
                lock (_queueLock)
                {
                    data = _queue.Dequeue();
                }

                if (data == null)
                {
                    break;
                }

                Handle(data);
            }

            long now = _clock.MonotonicMs;
            bool news = now - _reportChangedMs < _settings.ReportForMs || now - _pieceHeardMs < _settings.ReportForMs || _boot.Record.OnTrial;
            if (_report != null && news && now - _reportedMs >= _settings.ReportRepeatMs)
            {
                Advertise();
            }
        }

        private void Advertise()
        {
            _reportedMs = _clock.MonotonicMs;
            if (_radio.Advertise(_report!, _reportLength, _settings.AdvertisingIntervalMs))
            {
                ReportsSent++;
            }
        }

        private void OnAdvertisement(byte[] data, int length, int rssiDbm)
        {
            int offset;
            int count;
            if (!BleAdvertisement.TryFindFrame(data, 0, length, out offset, out count) || !CarouselPiece.IsPiece(data, offset, count))
            {
                return;
            }

            var piece = new byte[count];
            System.Array.Copy(data, offset, piece, 0, count);
            lock (_queueLock)
            {
                if (!_queue.TryEnqueue(piece))
                {
                    DroppedPieces++;
                }
            }
        }

        private void Handle(byte[] piece)
        {
            UpdateClient? client = _client;
            byte kind = CarouselPiece.KindOf(piece, 0);
            if (client == null || kind == CarouselPiece.ReportKind)
            {
                // A neighbour's report: the gateway's to hear.
                return;
            }

            if (piece.Length < CarouselPiece.ReleaseLength)
            {
                RejectedMalformed++;
                return;
            }

            bool ours = client.Download != null && CarouselPiece.NamesRelease(piece, 0, client.DownloadId);
            if (ours)
            {
                _pieceHeardMs = _clock.MonotonicMs;
            }

            switch (kind)
            {
                case CarouselPiece.OfferKind:
                    if (client.Download == null && (_settled == null || !CarouselPiece.NamesRelease(piece, 0, _settled)))
                    {
                        OnOfferPiece(client, piece);
                    }

                    break;
                case CarouselPiece.ChunkKind:
                    if (ours && !client.Verified)
                    {
                        OnChunkPiece(client, piece);
                    }

                    break;
                case CarouselPiece.CancelKind:
                    if (ours && piece.Length == CarouselPiece.ReleaseLength)
                    {
                        client.Handle(UpdateMessage.EncodeRelease(UpdateMessage.Cancel, client.DownloadId));
                    }

                    break;
                case CarouselPiece.ActivateKind:
                case CarouselPiece.TrialAcceptedKind:
                    OnPieceForLight(client, kind, piece, ours);
                    break;
                default:
                    RejectedMalformed++;
                    break;
            }
        }

        private void OnOfferPiece(UpdateClient client, byte[] piece)
        {
            if (piece.Length <= CarouselPiece.OfferHeaderLength)
            {
                RejectedMalformed++;
                return;
            }

            if (_offer == null || !CarouselPiece.NamesRelease(piece, 0, _offerTag))
            {
                _offer = new byte[MaxOfferLength];
                _offerPieces = new byte[(CarouselPiece.PieceCount(MaxOfferLength, CarouselPiece.OfferDataLength) + 7) / 8];
                System.Array.Copy(piece, 1, _offerTag, 0, CarouselPiece.ReleaseTagLength);
                _offerLength = -1;
            }

            int index = BigEndian.ReadUInt16(piece, 5);
            int count = piece.Length - CarouselPiece.OfferHeaderLength;
            int at = index * CarouselPiece.OfferDataLength;
            // Only the last piece may be short; one that lies about it spoils the offer, which then fails its signature.
            if (count > CarouselPiece.OfferDataLength || at + count > MaxOfferLength)
            {
                RejectedMalformed++;
                return;
            }

            System.Array.Copy(piece, CarouselPiece.OfferHeaderLength, _offer, at, count);
            Mark(_offerPieces!, index);
            if (index == 0)
            {
                _offerLength = 4 + BigEndian.ReadUInt16(_offer, 2) + 64;
                if (_offer[0] != UpdateMessage.Format || _offer[1] != UpdateMessage.Offer || _offerLength > MaxOfferLength)
                {
                    RejectedMalformed++;
                    _offer = null;
                    return;
                }
            }

            if (_offerLength < 0 || !AllMarked(_offerPieces!, CarouselPiece.PieceCount(_offerLength, CarouselPiece.OfferDataLength)))
            {
                return;
            }

            var whole = new byte[_offerLength];
            System.Array.Copy(_offer, 0, whole, 0, whole.Length);
            _offer = null;
            UpdateMessage? offer = UpdateMessage.Read(whole);
            ReleaseManifest? manifest = offer == null ? null : ReleaseManifest.Read(offer.Manifest!);

            // Only a signed offer of this carousel reaches the client: a forged piece costs one round, never a refusal.
            if (offer == null || manifest == null || _keys.Check(manifest, offer.Manifest!, offer.Signature) != UpdateReason.None ||
                !CarouselPiece.NamesRelease(piece, 0, ReleaseManifest.ReleaseIdOf(offer.Manifest!, _sha)))
            {
                RejectedForged++;
                return;
            }

            client.Handle(whole);
        }

        private void OnChunkPiece(UpdateClient client, byte[] piece)
        {
            ReleaseManifest manifest = client.Download!;
            int index = piece.Length > CarouselPiece.ChunkHeaderLength ? BigEndian.ReadUInt16(piece, 5) : -1;
            if (index < 0 || index >= manifest.ChunkCount)
            {
                RejectedMalformed++;
                return;
            }

            if (client.Holds(index))
            {
                return;
            }

            int length = manifest.ChunkLength(index);
            int pieces = CarouselPiece.PieceCount(length, CarouselPiece.ChunkDataLength);
            int pieceIndex = BigEndian.ReadUInt16(piece, 7);
            int count = piece.Length - CarouselPiece.ChunkHeaderLength;
            int expected = pieceIndex == pieces - 1 ? length - (pieceIndex * CarouselPiece.ChunkDataLength) : CarouselPiece.ChunkDataLength;
            if (pieceIndex >= pieces || count != expected)
            {
                RejectedMalformed++;
                return;
            }

            // One chunk at a time: the carousel sends a chunk's pieces together, and a chunk left incomplete comes again.
            if (index != _chunkIndex || _chunk == null || _chunk.Length != length)
            {
                _chunk = new byte[length];
                _chunkPieces = new byte[(pieces + 7) / 8];
                _chunkIndex = index;
            }

            System.Array.Copy(piece, CarouselPiece.ChunkHeaderLength, _chunk, pieceIndex * CarouselPiece.ChunkDataLength, count);
            Mark(_chunkPieces!, pieceIndex);
            if (!AllMarked(_chunkPieces!, pieces))
            {
                return;
            }

            byte[] chunk = _chunk;
            _chunk = null;
            _chunkIndex = -1;
            if (!manifest.IsChunk(index, chunk, 0, chunk.Length, _sha))
            {
                RejectedForged++;
                return;
            }

            ChunksAssembled++;
            client.Handle(UpdateMessage.EncodeChunk(client.DownloadId, index, index * manifest.ChunkSize, chunk, 0, chunk.Length));
        }

        // Activate and trial accepted name one light and carry its key's tag: only the gateway that offered this light the
        // release switches it, and only the gateway that heard its new image ends its trial.
        private void OnPieceForLight(UpdateClient client, byte kind, byte[] piece, bool ours)
        {
            if (piece.Length != CarouselPiece.LightPieceLength || BigEndian.ReadUInt32(piece, 5) != _lightId)
            {
                // Another light's piece (or not one at all): not ours to judge.
                return;
            }

            if (!CarouselPiece.HasValidTag(piece, 0, piece.Length, _key, _mac))
            {
                RejectedForged++;
                return;
            }

            if (kind == CarouselPiece.ActivateKind)
            {
                if (ours)
                {
                    client.Handle(UpdateMessage.EncodeRelease(UpdateMessage.Activate, client.DownloadId));
                }

                return;
            }

            LoaderRecord record = _boot.Record;
            if (record.OnTrial && CarouselPiece.NamesRelease(piece, 0, record.ActiveReleaseId))
            {
                client.Handle(UpdateMessage.EncodeRelease(UpdateMessage.TrialAccepted, record.ActiveReleaseId));
            }
        }

        private static void Mark(byte[] bits, int index)
        {
            bits[index / 8] |= (byte)(0x80 >> (index % 8));
        }

        private static bool AllMarked(byte[] bits, int count)
        {
            for (int i = 0; i < count; i++)
            {
                if ((bits[i / 8] & (0x80 >> (i % 8))) == 0)
                {
                    return false;
                }
            }

            return true;
        }
    }
}
