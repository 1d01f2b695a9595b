namespace Anshimi.Firmware.Streetlight
{
    /// <summary>
    /// The trigonometry the solar calculator needs, in portable code: nanoFramework keeps System.Math out of its
    /// core library (in a package of its own), and the light works out the sun only every few minutes, so these
    /// few dozen multiplications cost nothing. Agrees with System.Math to about 1e-15 for the angles a light
    /// sees (checked by TrigonometryTests); the argument reduction stays exact up to about a million radians.
    /// </summary>
    public static class Trigonometry
    {
        public const double Pi = 3.14159265358979323846;

        private const double HalfPi = 1.57079632679489661923;

        // π/2 in two parts (fdlibm's pio2_1 and pio2_1t): the high part has 33 significant bits, so k·HalfPiHigh
        // is exact and x − k·π/2 keeps its precision however many quarter turns k counts.
        private const double HalfPiHigh = 1.57079632673412561417e+00;
        private const double HalfPiLow = 6.07710050650619224932e-11;

        public static double Sin(double x)
        {
            return QuarterTurn(x, 0);
        }

        public static double Cos(double x)
        {
            return QuarterTurn(x, 1);
        }

        public static double Tan(double x)
        {
            return QuarterTurn(x, 0) / QuarterTurn(x, 1);
        }

        /// <summary>The angle in [−π/2, π/2] whose sine is <paramref name="x"/>; NaN outside [−1, 1].</summary>
        public static double Asin(double x)
        {
            if (!(x >= -1.0 && x <= 1.0))
            {
                return double.NaN;
            }

            if (x > 0.5)
            {
                // Near ±1 the identity asin x = π/2 − 2·asin √((1 − x)/2) keeps the digits 1 − x² would lose.
                return HalfPi - (2.0 * SmallAsin(Sqrt((1.0 - x) / 2.0)));
            }

            if (x < -0.5)
            {
                return (2.0 * SmallAsin(Sqrt((1.0 + x) / 2.0))) - HalfPi;
            }

            return SmallAsin(x);
        }

        /// <summary>The angle in [0, π] whose cosine is <paramref name="x"/>; NaN outside [−1, 1].</summary>
        public static double Acos(double x)
        {
            if (!(x >= -1.0 && x <= 1.0))
            {
                return double.NaN;
            }

            if (x > 0.5)
            {
                return 2.0 * SmallAsin(Sqrt((1.0 - x) / 2.0));
            }

            if (x < -0.5)
            {
                return Pi - (2.0 * SmallAsin(Sqrt((1.0 + x) / 2.0)));
            }

            return HalfPi - SmallAsin(x);
        }

        /// <summary>The square root (NaN below zero): a bit-level first guess, then Newton's steps.</summary>
        public static double Sqrt(double x)
        {
            if (!(x > 0.0) || double.IsPositiveInfinity(x))
            {
                return x == 0.0 || double.IsPositiveInfinity(x) ? x : double.NaN;
            }

            // Halving the exponent bits gives a guess within 6 %; five steps take that below one part in 1e19.
            double y = System.BitConverter.Int64BitsToDouble((System.BitConverter.DoubleToInt64Bits(x) >> 1) + 0x1FF8000000000000L);
            for (int i = 0; i < 5; i++)
            {
                y = 0.5 * (y + (x / y));
            }

            return y;
        }

        /// <summary>sin(x + shift·π/2), from the reduced angle in [−π/4, π/4].</summary>
        private static double QuarterTurn(double x, int shift)
        {
            if (double.IsNaN(x) || double.IsInfinity(x))
            {
                return double.NaN;
            }

            double turns = x / HalfPi;
            long k = (long)(turns >= 0 ? turns + 0.5 : turns - 0.5);
            double r = (x - (k * HalfPiHigh)) - (k * HalfPiLow);
            switch ((int)((k + shift) & 3))
            {
                case 0:
                    return SinSeries(r);
                case 1:
                    return CosSeries(r);
                case 2:
                    return -SinSeries(r);
                default:
                    return -CosSeries(r);
            }
        }

        // Taylor series to the 17th and 16th power: on |r| ≤ π/4 the first term left out is below 1e-17.
        private static double SinSeries(double r)
        {
            double r2 = r * r;
            return r * (1.0 + (r2 * (-1.0 / 6.0 + (r2 * (1.0 / 120.0 + (r2 * (-1.0 / 5040.0 + (r2 * (1.0 / 362880.0
                + (r2 * (-1.0 / 39916800.0 + (r2 * (1.0 / 6227020800.0 + (r2 * (-1.0 / 1307674368000.0
                + (r2 * (1.0 / 355687428096000.0)))))))))))))))));
        }

        private static double CosSeries(double r)
        {
            double r2 = r * r;
            return 1.0 + (r2 * (-1.0 / 2.0 + (r2 * (1.0 / 24.0 + (r2 * (-1.0 / 720.0 + (r2 * (1.0 / 40320.0
                + (r2 * (-1.0 / 3628800.0 + (r2 * (1.0 / 479001600.0 + (r2 * (-1.0 / 87178291200.0
                + (r2 * (1.0 / 20922789888000.0))))))))))))))));
        }

        /// <summary>asin on [−0.5, 0.5], as the arctangent of x / √(1 − x²).</summary>
        private static double SmallAsin(double x)
        {
            return SmallAtan(x / Sqrt(1.0 - (x * x)));
        }

        /// <summary>atan on [−0.58, 0.58]: two half-angle steps bring z below 0.14, where 11 series terms suffice.</summary>
        private static double SmallAtan(double z)
        {
            for (int i = 0; i < 2; i++)
            {
                z /= 1.0 + Sqrt(1.0 + (z * z));
            }

            double z2 = z * z;
            double sum = 0.0;
            for (int n = 21; n >= 3; n -= 2)
            {
                sum = (((n / 2) % 2 == 0) ? 1.0 / n : -1.0 / n) + (z2 * sum);
            }

            return 4.0 * z * (1.0 + (z2 * sum));
        }
    }
}
