using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Ota
{
    /// <summary>
    /// The update side of a device application started by the loader, and of the loader's own safe mode
    /// (protocol/README.md §11.3, §11.5): the <see cref="UpdateClient"/> on the boot the loader made — read by the
    /// application with <see cref="SlotLoader.ReadRunning"/>, so no boot is counted twice — over the device's link
    /// (<see cref="MqttUpdateLink"/> for bells and doorbells, <see cref="CarouselReceiver"/> for lights). Each new
    /// connection reports where the device stands (a trial boot reports <c>trial</c>); the trial is confirmed only when
    /// the gateway answers a heartbeat it verified with <b>trial accepted</b>, and nothing switches while
    /// <see cref="IUpdateHold"/> holds. The device loop calls <see cref="Tick"/> and restarts the device when
    /// <see cref="RestartRequested"/> is set.
    /// </summary>
    public sealed class ApplicationUpdates
    {
        // A window of 8 chunks and the control messages around it; more waiting means the loop has stalled.
        private const int QueueCapacity = 16;

        private readonly IUpdateLink _link;
        private readonly PayloadRing _queue = new PayloadRing(QueueCapacity);
        private readonly object _gate = new object();
        private bool _wasConnected;

        public ApplicationUpdates(
            IUpdateLink link, BootResult boot, SlotLoader loader, ReleaseKeys keys, IFirmwareFiles files, IDeviceStorage records,
            IClock clock, IUpdateHold hold, string board, string profile, UpdateClientSettings settings)
        {
            _link = link;
            Boot = boot;
            Client = new UpdateClient(link, boot, loader, keys, files, records, clock, hold, board, profile, settings);
        }

        public BootResult Boot { get; }

        public UpdateClient Client { get; }

        /// <summary>Update messages dropped because the queue was full (the gateway repeats what goes unanswered).</summary>
        public int DroppedMessages { get; private set; }

        /// <summary>The application must restart now: a slot was activated, or a trial boot ran out of time.</summary>
        public bool RestartRequested
        {
            get { return Client.RestartRequested; }
        }

        /// <summary>An update message heard on the link's own thread: kept for the next <see cref="Tick"/>.</summary>
        public void Receive(byte[] payload)
        {
            lock (_gate)
            {
                if (!_queue.TryEnqueue(payload))
                {
                    DroppedMessages++;
                }
            }
        }

        /// <summary>On the device loop: reports after each new connection, handles the messages heard, repeats and times out.</summary>
        public void Tick()
        {
            bool connected = _link.IsConnected;
            if (connected && !_wasConnected)
            {
                Client.OnConnected();
            }

            _wasConnected = connected;
            while (true)
            {
                byte[]? payload;
                lock (_gate)
                {
                    payload = _queue.Dequeue();
                }

                if (payload == null)
                {
                    break;
                }

                // Heard before the link went: its answer could not leave, and the gateway asks again.
                if (connected)
                {
                    Client.Handle(payload);
                }
            }

            Client.Tick();
        }
    }
}
