using Anshimi.Protocol.Upstream.Provisioning;
using QRCoder;

namespace Anshimi.Installer;

/// <summary>The device label: a QR code of <c>ANSHIMI:2:{id}:{code}:{key}</c> (terminal or SVG), the code and the key in text.</summary>
public static class LabelPrinter
{
    public static string Payload(string deviceId, string normalizedCode, byte[] publicKey) => ClaimCode.LabelPayload(deviceId, normalizedCode, publicKey);

    /// <summary>The QR code in half-block characters, quiet zone included, for a terminal.</summary>
    public static string Terminal(string payload)
    {
        using var generator = new QRCodeGenerator();
        using QRCodeData data = generator.CreateQrCode(payload, QRCodeGenerator.ECCLevel.M);
        using var ascii = new AsciiQRCode(data);
        return ascii.GetGraphicSmall(drawQuietZones: true, invert: false, endOfLine: "\n");
    }

    /// <summary>The QR code as SVG for a label printer.</summary>
    public static string Svg(string payload)
    {
        using var generator = new QRCodeGenerator();
        using QRCodeData data = generator.CreateQrCode(payload, QRCodeGenerator.ECCLevel.M);
        using var svg = new SvgQRCode(data);
        return svg.GetGraphic(8);
    }
}
