using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Ota
{
    /// <summary>
    /// One boot of the fixed loader (protocol/README.md §11.3): <see cref="SlotLoader.Boot"/> counts a trial boot and
    /// falls back when it must, then the active slot's assemblies are started. A start that throws is a crash: the
    /// trial boot was counted before anything loaded, so the device resets (the loader app through
    /// <c>Power.RebootDevice</c>, the simulator by booting again) and after the trial's boots the loader falls back.
    /// With no slot that loads it returns in safe mode, and the caller runs <see cref="ApplicationUpdates"/> alone.
    /// </summary>
    public sealed class LoaderBoot
    {
        private readonly IApplicationStarter _starter;

        public LoaderBoot(IDeviceStorage records, IFirmwareFiles files, ReleaseKeys keys, IApplicationStarter starter)
        {
            _starter = starter;
            Loader = new SlotLoader(records, files, keys);
        }

        public SlotLoader Loader { get; }

        /// <summary>Why the last start failed, or null when it returned (or never ran: safe mode).</summary>
        public System.Exception? StartFailure { get; private set; }

        /// <summary>
        /// Boots and starts the active slot. Returns in safe mode, when the slot's entry returned (on the device its loop
        /// never does), or when the start threw (<see cref="StartFailure"/>): in the last two cases the device resets.
        /// </summary>
        public BootResult Run()
        {
            StartFailure = null;
            BootResult boot = Loader.Boot();
            if (boot.SafeMode)
            {
                return boot;
            }

            try
            {
                _starter.Start(boot.Assemblies!, boot.Manifest!.Entry);
            }
            catch (System.Exception failure)
            {
                StartFailure = failure;
            }

            return boot;
        }
    }
}
