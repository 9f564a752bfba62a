from django import forms

from nbhosting.courses.models import Course

# What could reach beyond the course itself (another repo on the host, the network, the machine's
# resources) is for site admins only; a course's own staff see these fields read-only.
ADMIN_ONLY = ("git_url", "image", "network", "memory", "cpus", "pids", "quota")


class CourseSettingsForm(forms.ModelForm):
    class Meta:
        model = Course
        fields = ["git_url", "branch", "image", "autopull", "autobuild", "staff", "trust", "referers",
                  "network", "memory", "cpus", "pids", "quota", "archived"]
        labels = {"git_url": "Git URL", "trust": "Launch trust", "network": "Network in containers",
                  "memory": "Memory limit", "cpus": "CPU limit", "pids": "Process limit",
                  "quota": "Disk quota per student"}
        help_texts = {"memory": "e.g. 2g; empty: the site's default", "cpus": "empty: the site's default",
                      "pids": "empty: the site's default",
                      "quota": "e.g. 2g, or none; empty: the site's default"}
        widgets = {"staff": forms.TextInput(attrs={"size": 60}), "referers": forms.TextInput(attrs={"size": 60}),
                   "git_url": forms.TextInput(attrs={"size": 60})}

    def __init__(self, *args, admin: bool, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not admin:
            for name in ADMIN_ONLY:
                # Disabled fields keep their stored value whatever the request posts.
                self.fields[name].disabled = True

    def clean_branch(self) -> str:
        branch = self.cleaned_data["branch"].strip()
        if branch.startswith("-") or any(c.isspace() or c in "~^:?*[\\" for c in branch) or ".." in branch:
            raise forms.ValidationError("not a valid branch name")
        return branch
