using Anshimi.Firmware.Streetlight;

namespace Anshimi.Firmware.Tests.Streetlight;

/// <summary>The portable trigonometry agrees with the platform's System.Math wherever the solar calculator uses it.</summary>
public sealed class TrigonometryTests
{
    private const double Tolerance = 2e-15;

    public static TheoryData<double> Angles()
    {
        var angles = new TheoryData<double>
        {
            0, 1e-300, -1e-9, Math.PI / 4, Math.PI / 2, -Math.PI / 2, Math.PI, 3 * Math.PI / 2, 2 * Math.PI, 100 * Math.PI,
            // The largest the calculator meets: the Sun's mean anomaly a century from J2000 (~630 rad).
            630.0, -1e5, 1.5e6,
        };
        var random = new Random(2026);
        for (int i = 0; i < 40; i++)
        {
            angles.Add((random.NextDouble() - 0.5) * 2000);
        }

        return angles;
    }

    [Theory]
    [MemberData(nameof(Angles))]
    public void Sine_cosine_and_tangent_match_system_math(double x)
    {
        Assert.Equal(Math.Sin(x), Trigonometry.Sin(x), Tolerance * Math.Max(1, Math.Abs(x) / 1000));
        Assert.Equal(Math.Cos(x), Trigonometry.Cos(x), Tolerance * Math.Max(1, Math.Abs(x) / 1000));
        double tan = Math.Tan(x);
        if (Math.Abs(tan) < 1e6)
        {
            Assert.Equal(tan, Trigonometry.Tan(x), Tolerance * Math.Max(1, tan * tan) * Math.Max(1, Math.Abs(x) / 1000));
        }
    }

    [Fact]
    public void Arcsine_and_arccosine_match_system_math_over_their_whole_domain()
    {
        for (int i = -2000; i <= 2000; i++)
        {
            double x = i / 2000.0;
            Assert.Equal(Math.Asin(x), Trigonometry.Asin(x), Tolerance);
            Assert.Equal(Math.Acos(x), Trigonometry.Acos(x), Tolerance);
        }

        foreach (double x in new[] { 0.5, -0.5, 0.5000000001, 1 - 1e-12, -1 + 1e-15, 1e-20 })
        {
            Assert.Equal(Math.Asin(x), Trigonometry.Asin(x), Tolerance);
            Assert.Equal(Math.Acos(x), Trigonometry.Acos(x), Tolerance);
        }
    }

    [Fact]
    public void Square_roots_match_system_math()
    {
        foreach (double x in new[] { 0.0, 1e-300, 1e-10, 0.25, 0.5, 0.75, 1, 2, 1e10, 1e300 })
        {
            Assert.Equal(Math.Sqrt(x), Trigonometry.Sqrt(x), Math.Sqrt(x) * 1e-15);
        }
    }

    [Fact]
    public void Values_outside_the_domain_give_nan_as_system_math_does()
    {
        foreach (double x in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity })
        {
            Assert.Equal(double.NaN, Trigonometry.Sin(x));
            Assert.Equal(double.NaN, Trigonometry.Cos(x));
        }

        Assert.Equal(double.NaN, Trigonometry.Asin(1.0000001));
        Assert.Equal(double.NaN, Trigonometry.Acos(-1.0000001));
        Assert.Equal(double.NaN, Trigonometry.Asin(double.NaN));
        Assert.Equal(double.NaN, Trigonometry.Sqrt(-1));
    }
}
