namespace Anshimi.Protocol
{
    /// <summary>How far an alarm has got, carried in an Ack frame's payload; drives the bell's LED.</summary>
    public enum AckStage : byte
    {
        /// <summary>The gateway has stored the alarm durably; the device may stop resending.</summary>
        Received = 1,

        /// <summary>An operator has acknowledged it: help is on the way.</summary>
        OperatorAcknowledged = 2,

        /// <summary>The operator has closed the alarm.</summary>
        Resolved = 3,

        /// <summary>The gateway holds the whole snapshot named by the acked counter, its hash checked.</summary>
        SnapshotStored = 4,
    }
}
