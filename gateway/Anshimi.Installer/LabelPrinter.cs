using Anshimi.Protocol.Upstream.Provisioning;
using QRCoder;

namespace Anshimi.Installer;

/// <summary>The device label: a QR code of <c>ANSHIMI:1:{id}:{code}</c> (terminal or SVG) and the code in text.</summary>
public static class LabelPrinter
{
    public static string Payload(string deviceId, string normalizedCode) => ClaimCode.LabelPayload(deviceId, normalizedCode);

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
