namespace Anshimi.Protocol
{
    /// <summary>Ademco Contact ID event codes used on the wire (DESIGN §5).</summary>
    public static class ContactIdCode
    {
        public const ushort None = 0;
        public const ushort Panic = 120;
        public const ushort Duress = 121;
        public const ushort SilentPanic = 122;
        public const ushort Tamper = 137;
        public const ushort AcLoss = 301;
        public const ushort LowBattery = 302;
        public const ushort SystemShutdown = 308;
        public const ushort SystemPeripheralTrouble = 330;
        public const ushort CommunicationTrouble = 350;
        public const ushort CommunicationPathFailure = 354;
        public const ushort SupervisionLoss = 381;
        public const ushort SensorTamper = 383;
        public const ushort RfLowBattery = 384;
        public const ushort PeriodicTest = 602;

        /// <summary>Largest code the three Contact ID digits can carry.</summary>
        public const ushort Max = 999;
    }

    /// <summary>Contact ID event qualifier: the first digit after the message type.</summary>
    public static class ContactIdQualifier
    {
        public const byte None = 0;
        public const byte NewEvent = 1;
        public const byte Restore = 3;
        public const byte StatusReport = 6;

        public static bool IsValid(byte qualifier)
        {
            return qualifier == None || qualifier == NewEvent || qualifier == Restore || qualifier == StatusReport;
        }
    }
}
