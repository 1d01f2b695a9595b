namespace Anshimi.Geo;

/// <summary>
/// One CCTV point linked to the Anshimi service, as the city publishes it: the point may hold several cameras.
/// </summary>
/// <param name="Line">The line of the file the point was read from (header = 1).</param>
/// <param name="Label">Lot address and camera label as published, e.g. "중화2동 302-18(고정3)_C-JH02-0009-C".</param>
public sealed record AnshimiCamera(int Line, string DistrictCode, string DistrictNameKo, string Label, double Latitude, double Longitude, int Cameras);

/// <summary>A camera point and its great-circle distance from the place asked about.</summary>
public readonly record struct CameraDistance(AnshimiCamera Camera, double Metres);
