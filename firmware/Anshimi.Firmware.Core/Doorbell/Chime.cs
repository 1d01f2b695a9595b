using Anshimi.Firmware.Hal;

namespace Anshimi.Firmware.Doorbell
{
    /// <summary>
    /// The indoor chime: a "ding-dong" played through the PWM channel that feeds the amplifier, stepped by
    /// the device loop. The duty cycle sets the loudness of each note; 0 is silence (the board adapter
    /// also shuts the amplifier down then). Plays with no network at all.
    /// </summary>
    public sealed class Chime
    {
        // Note lengths in ms and their duty cycles: ding, pause, dong, off.
        private static readonly int[] StepMs = { 400, 120, 700 };
        private static readonly double[] StepDuty = { 0.5, 0.0, 0.35 };

        private readonly IPwmOutput _output;
        private int _step = -1;
        private long _stepStartMs;
        private double _duty;

        public Chime(IPwmOutput output)
        {
            _output = output;
            _output.SetDuty(0.0);
        }

        public bool IsPlaying
        {
            get { return _step >= 0; }
        }

        public int Plays { get; private set; }

        /// <summary>Starts the tune from the top (a second ring restarts it).</summary>
        public void Play(long nowMs)
        {
            Plays++;
            _step = 0;
            _stepStartMs = nowMs;
            Apply(StepDuty[0]);
        }

        public void Update(long nowMs)
        {
            while (_step >= 0 && nowMs - _stepStartMs >= StepMs[_step])
            {
                _stepStartMs += StepMs[_step];
                _step++;
                if (_step == StepMs.Length)
                {
                    _step = -1;
                    Apply(0.0);
                    return;
                }

                Apply(StepDuty[_step]);
            }
        }

        private void Apply(double duty)
        {
            if (duty != _duty)
            {
                _duty = duty;
                _output.SetDuty(duty);
            }
        }
    }
}
