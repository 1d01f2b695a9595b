namespace Anshimi.Firmware.Streetlight
{
    /// <summary>
    /// Sunrise and sunset for a place and day, by the NOAA solar calculator's algorithm (Meeus' low-precision
    /// formulas; within about a minute at Seoul's latitude), on the portable <see cref="Trigonometry"/>.
    /// </summary>
    public static class SolarCalculator
    {
        /// <summary>Returned instead of minutes when the sun stays below the horizon all day (polar night).</summary>
        public const double NeverRises = double.MaxValue;

        /// <summary>Returned instead of minutes when the sun stays above the horizon all day (midnight sun).</summary>
        public const double NeverSets = double.MinValue;

        private const double Deg = 180.0 / Trigonometry.Pi;
        private const double Rad = Trigonometry.Pi / 180.0;

        /// <summary>Ticks of 2000-01-01 12:00 UTC, Julian day 2451545.0 (J2000).</summary>
        private const long J2000Ticks = 630823248000000000L;

        /// <summary>The sun's centre 50 arc-minutes below the horizon: refraction plus its radius.</summary>
        private const double HorizonZenith = 90.833;

        /// <summary>
        /// Minutes after <paramref name="dayUtc"/>'s 00:00 UTC at which the sun rises (or sets) on that day at the
        /// place, negative when it happens the UTC day before (east of Greenwich); <see cref="NeverRises"/> or
        /// <see cref="NeverSets"/> when it does not happen that day.
        /// </summary>
        public static double EventMinutesUtc(System.DateTime dayUtc, double latitude, double longitude, bool sunrise)
        {
            long midnightTicks = dayUtc.Ticks - (dayUtc.Ticks % System.TimeSpan.TicksPerDay);

            // Start at local solar noon, then correct twice at the event's own time: the sun's position moves little in a day.
            double minutes = 720.0 - (4.0 * longitude);
            for (int i = 0; i < 3; i++)
            {
                double julianCentury = (((midnightTicks - J2000Ticks) / (double)System.TimeSpan.TicksPerDay) + (minutes / 1440.0)) / 36525.0;
                double declination;
                double equationOfTime;
                SunPosition(julianCentury, out declination, out equationOfTime);

                double cosHourAngle = (Trigonometry.Cos(HorizonZenith * Rad) / (Trigonometry.Cos(latitude * Rad) * Trigonometry.Cos(declination)))
                    - (Trigonometry.Tan(latitude * Rad) * Trigonometry.Tan(declination));
                if (cosHourAngle > 1.0)
                {
                    return NeverRises;
                }

                if (cosHourAngle < -1.0)
                {
                    return NeverSets;
                }

                double hourAngle = Trigonometry.Acos(cosHourAngle) * Deg;
                minutes = 720.0 - (4.0 * (longitude + (sunrise ? hourAngle : -hourAngle))) - equationOfTime;
            }

            return minutes;
        }

        /// <summary>
        /// True from sunset until sunrise at the place, widened by <paramref name="marginMinutes"/> on both sides
        /// (the lamp comes on a little before sunset and goes off a little after sunrise).
        /// </summary>
        public static bool IsNight(System.DateTime utcNow, double latitude, double longitude, double marginMinutes)
        {
            // The solar day that contains now: shifted by the longitude, a day runs from local midnight to midnight.
            var localDay = new System.DateTime(utcNow.Ticks + (long)(longitude * 4.0 * System.TimeSpan.TicksPerMinute));
            double rise = EventMinutesUtc(localDay, latitude, longitude, true);
            double set = EventMinutesUtc(localDay, latitude, longitude, false);
            if (rise == NeverRises || set == NeverRises)
            {
                return true;
            }

            if (rise == NeverSets || set == NeverSets)
            {
                return false;
            }

            long dayStart = localDay.Ticks - (localDay.Ticks % System.TimeSpan.TicksPerDay);
            double nowMinutes = (utcNow.Ticks - dayStart) / (double)System.TimeSpan.TicksPerMinute;
            return nowMinutes < rise + marginMinutes || nowMinutes >= set - marginMinutes;
        }

        private static void SunPosition(double t, out double declination, out double equationOfTime)
        {
            double meanLongitude = Normalize(280.46646 + (t * (36000.76983 + (t * 0.0003032))));
            double meanAnomaly = 357.52911 + (t * (35999.05029 - (0.0001537 * t)));
            double eccentricity = 0.016708634 - (t * (0.000042037 + (0.0000001267 * t)));
            double m = meanAnomaly * Rad;
            double center = (Trigonometry.Sin(m) * (1.914602 - (t * (0.004817 + (0.000014 * t)))))
                + (Trigonometry.Sin(2 * m) * (0.019993 - (0.000101 * t)))
                + (Trigonometry.Sin(3 * m) * 0.000289);
            double omega = (125.04 - (1934.136 * t)) * Rad;
            double apparentLongitude = (meanLongitude + center - 0.00569 - (0.00478 * Trigonometry.Sin(omega))) * Rad;
            double meanObliquity = 23.0 + ((26.0 + ((21.448 - (t * (46.815 + (t * (0.00059 - (t * 0.001813)))))) / 60.0)) / 60.0);
            double obliquity = (meanObliquity + (0.00256 * Trigonometry.Cos(omega))) * Rad;
            declination = Trigonometry.Asin(Trigonometry.Sin(obliquity) * Trigonometry.Sin(apparentLongitude));

            double y = Trigonometry.Tan(obliquity / 2.0);
            y *= y;
            double l0 = meanLongitude * Rad;
            equationOfTime = 4.0 * Deg * ((y * Trigonometry.Sin(2 * l0))
                - (2 * eccentricity * Trigonometry.Sin(m))
                + (4 * eccentricity * y * Trigonometry.Sin(m) * Trigonometry.Cos(2 * l0))
                - (0.5 * y * y * Trigonometry.Sin(4 * l0))
                - (1.25 * eccentricity * eccentricity * Trigonometry.Sin(2 * m)));
        }

        private static double Normalize(double degrees)
        {
            double d = degrees % 360.0;
            return d < 0 ? d + 360.0 : d;
        }
    }
}
