using System.Runtime.InteropServices;

namespace Anshimi.Mqtt.Native;

/// <summary>
/// The subset of libmosquitto 2.0 (Debian <c>libmosquitto1</c>) that <see cref="MosquittoClient"/> uses.
/// Signatures follow <c>mosquitto.h</c>; C <c>bool</c> is one byte.
/// </summary>
internal static unsafe partial class LibMosquitto
{
    private const string Library = "libmosquitto.so.1";

    public const int Success = 0;
    public const int ErrorNoConnection = 4;
    public const int ErrorConnectionRefused = 5;
    public const int ErrorErrno = 14;

    public const int OptionProtocolVersion = 1;
    public const int ProtocolV311 = 4;
    public const int OptionTcpNoDelay = 11;

    public const int SubscriptionFailure = 0x80;
    public const int ConnectFlagSessionPresent = 0x01;

    public const int LogWarning = 0x04;
    public const int LogError = 0x08;

    /// <summary>Layout of <c>struct mosquitto_message</c>.</summary>
    [StructLayout(LayoutKind.Sequential)]
    public struct Message
    {
        public int Mid;
        public byte* Topic;
        public byte* Payload;
        public int PayloadLength;
        public int Qos;
        public byte Retain;
    }

    [LibraryImport(Library, EntryPoint = "mosquitto_lib_init")]
    public static partial int LibInit();

    [LibraryImport(Library, EntryPoint = "mosquitto_new", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial nint New(string? id, [MarshalAs(UnmanagedType.U1)] bool cleanSession, nint userData);

    [LibraryImport(Library, EntryPoint = "mosquitto_destroy")]
    public static partial void Destroy(nint mosq);

    [LibraryImport(Library, EntryPoint = "mosquitto_username_pw_set", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int UsernamePasswordSet(nint mosq, string? username, string? password);

    [LibraryImport(Library, EntryPoint = "mosquitto_will_set", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int WillSet(nint mosq, string topic, int payloadLength, byte* payload, int qos, [MarshalAs(UnmanagedType.U1)] bool retain);

    [LibraryImport(Library, EntryPoint = "mosquitto_tls_set", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int TlsSet(nint mosq, string? caFile, string? caPath, string? certFile, string? keyFile, nint passwordCallback);

    [LibraryImport(Library, EntryPoint = "mosquitto_reconnect_delay_set")]
    public static partial int ReconnectDelaySet(nint mosq, uint delaySeconds, uint delayMaxSeconds, [MarshalAs(UnmanagedType.U1)] bool exponentialBackoff);

    [LibraryImport(Library, EntryPoint = "mosquitto_max_inflight_messages_set")]
    public static partial int MaxInflightMessagesSet(nint mosq, uint maxInflightMessages);

    [LibraryImport(Library, EntryPoint = "mosquitto_int_option")]
    public static partial int IntOption(nint mosq, int option, int value);

    [LibraryImport(Library, EntryPoint = "mosquitto_connect_async", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    public static partial int ConnectAsync(nint mosq, string host, int port, int keepAliveSeconds);

    [LibraryImport(Library, EntryPoint = "mosquitto_loop_start")]
    public static partial int LoopStart(nint mosq);

    [LibraryImport(Library, EntryPoint = "mosquitto_loop_stop")]
    public static partial int LoopStop(nint mosq, [MarshalAs(UnmanagedType.U1)] bool force);

    [LibraryImport(Library, EntryPoint = "mosquitto_disconnect")]
    public static partial int Disconnect(nint mosq);

    [LibraryImport(Library, EntryPoint = "mosquitto_publish", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Publish(nint mosq, int* mid, string topic, int payloadLength, byte* payload, int qos, [MarshalAs(UnmanagedType.U1)] bool retain);

    [LibraryImport(Library, EntryPoint = "mosquitto_subscribe", StringMarshalling = StringMarshalling.Utf8)]
    public static partial int Subscribe(nint mosq, int* mid, string topicFilter, int qos);

    [LibraryImport(Library, EntryPoint = "mosquitto_strerror")]
    private static partial byte* StrError(int errorCode);

    [LibraryImport(Library, EntryPoint = "mosquitto_connack_string")]
    private static partial byte* ConnackString(int connackCode);

    [LibraryImport(Library, EntryPoint = "mosquitto_connect_with_flags_callback_set")]
    public static partial void ConnectWithFlagsCallbackSet(nint mosq, delegate* unmanaged[Cdecl]<nint, nint, int, int, void> callback);

    [LibraryImport(Library, EntryPoint = "mosquitto_disconnect_callback_set")]
    public static partial void DisconnectCallbackSet(nint mosq, delegate* unmanaged[Cdecl]<nint, nint, int, void> callback);

    [LibraryImport(Library, EntryPoint = "mosquitto_publish_callback_set")]
    public static partial void PublishCallbackSet(nint mosq, delegate* unmanaged[Cdecl]<nint, nint, int, void> callback);

    [LibraryImport(Library, EntryPoint = "mosquitto_subscribe_callback_set")]
    public static partial void SubscribeCallbackSet(nint mosq, delegate* unmanaged[Cdecl]<nint, nint, int, int, int*, void> callback);

    [LibraryImport(Library, EntryPoint = "mosquitto_message_callback_set")]
    public static partial void MessageCallbackSet(nint mosq, delegate* unmanaged[Cdecl]<nint, nint, Message*, void> callback);

    [LibraryImport(Library, EntryPoint = "mosquitto_log_callback_set")]
    public static partial void LogCallbackSet(nint mosq, delegate* unmanaged[Cdecl]<nint, nint, int, byte*, void> callback);

    private static readonly Lazy<int> InitResult = new(LibInit, LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Runs <c>mosquitto_lib_init</c> once per process, whichever thread gets here first.</summary>
    public static void EnsureInitialized() => ThrowOnError(InitResult.Value, "mosquitto_lib_init");

    /// <summary>The library's text for a <c>MOSQ_ERR_*</c> code; for MOSQ_ERR_ERRNO pass the captured errno.</summary>
    public static string Describe(int errorCode, int errno = 0) =>
        errorCode == ErrorErrno && errno != 0
            ? Marshal.GetPInvokeErrorMessage(errno)
            : Utf8(StrError(errorCode)) ?? $"error {errorCode}";

    /// <summary>The library's text for a CONNACK return code, e.g. "Connection Refused: not authorised.".</summary>
    public static string DescribeConnack(int connackCode) => Utf8(ConnackString(connackCode)) ?? $"CONNACK {connackCode}";

    public static void ThrowOnError(int errorCode, string operation, int errno = 0)
    {
        if (errorCode != Success)
        {
            throw new MqttException($"{operation} failed: {Describe(errorCode, errno)}", errorCode);
        }
    }

    public static string? Utf8(byte* text) => text is null ? null : Marshal.PtrToStringUTF8((nint)text);
}
