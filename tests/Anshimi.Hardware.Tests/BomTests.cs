namespace Anshimi.Hardware.Tests;

/// <summary>The bill-of-materials rules on small good and bad files.</summary>
public sealed class BomTests
{
    private const string Header = "ref,part,manufacturer,mpn,quantity,note\n";

    private static void AssertOnly(string rule, Bom bom)
    {
        Assert.NotEmpty(bom.Violations);
        Assert.All(bom.Violations, v => Assert.Equal(rule, v.Rule));
    }

    [Fact]
    public void A_good_bom_parses_with_quotes_and_designator_lists()
    {
        var bom = Bom.Parse(Header + "U1,module,Espressif Systems,ESP32-WROOM-32E-N4,1,\"4 MB, \"\"E\"\" revision\"\nR1 R2,Resistor 1 kΩ,YAGEO,RC0603FR-071KL,2,\r\nBT1,AA cell,Energizer,L91,2,two cells\n");

        Assert.Empty(bom.Violations);
        Assert.Equal(3, bom.Rows.Count);
        Assert.Equal("4 MB, \"E\" revision", bom.Rows[0].Note);
        Assert.True(bom.TryGet("R2", out var r) && r.Mpn == "RC0603FR-071KL");
    }

    [Fact]
    public void The_header_is_required()
    {
        AssertOnly(Bom.HeaderRule, Bom.Parse("ref,part,mpn,quantity\nU1,module,X,1\n"));
        AssertOnly(Bom.HeaderRule, Bom.Parse(""));
    }

    [Fact]
    public void Duplicate_refs_are_refused_also_inside_lists()
    {
        AssertOnly(Bom.DuplicateRule, Bom.Parse(Header + "R1,a,b,c,1,\nR1,a,b,d,1,\n"));
        AssertOnly(Bom.DuplicateRule, Bom.Parse(Header + "R1 R2,a,b,c,2,\nR2,a,b,d,1,\n"));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("")]
    [InlineData("two")]
    public void Quantity_is_a_whole_number_of_at_least_one(string quantity)
    {
        AssertOnly(Bom.QuantityRule, Bom.Parse(Header + "R1,a,b,c," + quantity + ",\n"));
    }

    [Fact]
    public void Quantity_covers_every_designator()
    {
        AssertOnly(Bom.QuantityRule, Bom.Parse(Header + "R1 R2 R3,a,b,c,2,\n"));
    }

    [Theory]
    [InlineData(",a,b,c,1,")]
    [InlineData("R1,a,,c,1,")]
    [InlineData("R1,a,b,,1,")]
    [InlineData("R1,a,b,c,1")]
    [InlineData("R1,a,b,c,1,note,extra")]
    [InlineData("R1,a,b,\"c,1,")]
    public void Missing_or_extra_fields_are_refused(string row)
    {
        Assert.Contains(Bom.Parse(Header + row + "\n").Violations, v => v.Rule == Bom.FieldsRule);
    }

    [Fact]
    public void Refs_are_designators()
    {
        AssertOnly(Bom.RefRule, Bom.Parse(Header + "r1,a,b,c,1,\n"));
        AssertOnly(Bom.RefRule, Bom.Parse(Header + "R1-R3,a,b,c,3,\n"));
    }

    [Fact]
    public void Lines_are_counted_inside_quoted_notes()
    {
        var bom = Bom.Parse(Header + "U1,module,X,Y,1,\"two\r\nlines\"\n\nR1,a,b,c,0,\n");

        Assert.Equal([2, 5], bom.Rows.Select(r => r.Line));
        Assert.Equal("two\r\nlines", bom.Rows[0].Note);
        var violation = Assert.Single(bom.Violations);
        Assert.Equal(Bom.QuantityRule, violation.Rule);
        Assert.StartsWith("line 5: ", violation.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("R2,a,b,c,1,\"open\nR3,a,b,c,1,", "line 3: unterminated quoted field")]
    [InlineData("R2,a,b,12\" cable,1,", "line 3: a quote inside an unquoted field")]
    [InlineData("R2,a,b,\"c\"d,1,", "line 3: text after the closing quote of a quoted field")]
    public void Malformed_quoting_is_refused_at_the_line_its_row_starts(string row, string message)
    {
        var bom = Bom.Parse(Header + "R1,a,b,c,1,\n" + row + "\n");

        Assert.Equal(new Violation(Bom.FieldsRule, message), Assert.Single(bom.Violations));
        Assert.Equal(["R1"], bom.Rows.SelectMany(r => r.Refs));
    }
}
