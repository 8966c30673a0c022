package competency

import (
	"encoding/json"
	"testing"
)

func TestAlignment(t *testing.T) {
	f := officialByKey(t, KeyRCPMPE2013)
	cc14 := mustItem(t, f, "CC14")
	got, err := json.Marshal(Alignment(f, cc14, testBase))
	if err != nil {
		t.Fatal(err)
	}
	// The shape of an OB 3.0 alignment to CC14, as in the framework notes.
	want := `{"type":["Alignment"],"targetCode":"CC14",` +
		`"targetName":"S'engager dans une démarche individuelle et collective de développement professionnel",` +
		`"targetFramework":"Référentiel des compétences professionnelles des métiers du professorat et de l'éducation",` +
		`"targetType":"CFItem","targetUrl":"https://insigne.example/ims/case/v1p0/CFItems/` + cc14.Identifier + `"}`
	if string(got) != want {
		t.Errorf("alignment\n got %s\nwant %s", got, want)
	}

	f15 := officialByKey(t, KeyRCPF2015)
	a := Alignment(f15, mustItem(t, f15, "F1.5"), testBase+"/")
	if a.TargetName != "Concevoir le scénario et les ressources spécifiques pour une formation hybride ou à distance." ||
		a.TargetURL != ItemURI(testBase, mustItem(t, f15, "F1.5").Identifier) ||
		a.TargetFramework != f15.Title {
		t.Errorf("F1.5 alignment %+v", a)
	}
}
