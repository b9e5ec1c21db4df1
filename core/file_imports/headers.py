"""The headers offices write over each column of the lists they import, for every import.

One table for every import, keyed by the column's key: the member import
(outreach/imports.py) and the online-course import (trainings/imports.py) share keys such
as full_name and phone, and a header learned for one is learned for both. Headers are
written as offices write them and compared folded (file_imports.header_key): case,
accents, punctuation and notes in brackets do not matter. The first header of each
column is the one the portal asks for when a column is missing, and the one README.md
lists first.

A header that begins with one of these (“SĐT liên hệ”, “Chức vụ trong tổ”) is read as
that column too, the longest one winning, so a header needs adding here only when its
first words would name another column (“Ngày tham gia kênh Zalo” is not “Ngày tham gia”).
"""

HEADERS: dict[str, tuple[str, ...]] = {
    # --- Members (outreach/imports.py) ---
    "commune_code": (
        "Mã xã",
        "Mã xã/phường",
        "Mã xã/phường/thị trấn",
        "Mã đơn vị",
        "Mã đơn vị hành chính",
        "Mã ĐVHC",
        "Commune code",
    ),
    "commune_name": (
        "Xã",
        "Tên xã",
        "Xã/phường",
        "Xã/phường/thị trấn",
        "Tên xã/phường/thị trấn",
        "Đơn vị hành chính",
        "Commune",
    ),
    "team": (
        "Tên tổ",
        "Tổ",
        "Tổ công nghệ số",
        "Tên tổ công nghệ số",
        "Tổ công nghệ số cộng đồng",
        "Tên tổ công nghệ số cộng đồng",
        "Tổ CNS",
        "Tên tổ CNS",
        "Tổ CNSCĐ",
        "Tên tổ CNSCĐ",
        "Team",
        "Team name",
    ),
    "hamlet": (
        "Thôn/xóm",
        "Thôn",
        "Xóm",
        "Tên thôn",
        "Tên thôn/xóm",
        "Tổ dân phố",
        "Thôn/tổ dân phố",
        "Thôn/xóm/tổ dân phố",
    ),
    "full_name": (
        "Họ và tên",
        "Họ tên",
        "Họ và tên thành viên",
        "Tên thành viên",
        "Họ và tên học viên",
        "Tên học viên",
        "Học viên",
        "Full name",
        "Name",
        "Learner",
        "Learner name",
        "Student",
        "Student name",
    ),
    "gender": ("Giới tính", "Gender", "Sex"),
    "birth_year": (
        "Năm sinh",
        # A date of birth is read for its year.
        "Ngày sinh",
        "Ngày tháng năm sinh",
        "Year of birth",
    ),
    "phone": (
        "Số điện thoại",
        "Điện thoại",
        "SĐT",
        "Số ĐT",
        "SĐT liên hệ",
        "Điện thoại liên hệ",
        "Số điện thoại liên hệ",
        "Điện thoại di động",
        "Di động",
        "ĐTDĐ",
        "Phone",
        "Phone number",
        "Mobile",
    ),
    "role": (
        "Vai trò",
        "Vai trò trong tổ",
        "Chức vụ",
        "Chức vụ trong tổ",
        "Chức danh trong tổ",
        "Role",
    ),
    "youth_union": (
        "Đoàn viên",
        "Là đoàn viên",
        "Đoàn viên thanh niên",
        "ĐVTN",
        "Youth union",
    ),
    "affiliation": ("Đơn vị", "Đơn vị công tác", "Thành phần"),
    "on_zalo_oa": (
        "Tham gia Zalo OA",
        "Đã tham gia Zalo OA",
        "Zalo OA",
        "On Zalo OA",
    ),
    "zalo_joined_on": (
        "Ngày tham gia Zalo OA",
        "Ngày tham gia Zalo",
        "Ngày tham gia kênh Zalo",
        "Zalo OA joined on",
    ),
    "joined_on": ("Ngày tham gia", "Ngày tham gia tổ", "Ngày vào tổ", "Date joined"),
    "team_formed_on": ("Ngày thành lập tổ", "Ngày thành lập", "Formed on"),
    "left_on": ("Ngày rời tổ", "Ngày rời khỏi tổ"),
    # --- Online courses (trainings/imports.py) ---
    "agency": (
        "Đơn vị công tác",
        "Đơn vị",
        "Cơ quan",
        "Cơ quan công tác",
        "Cơ quan/đơn vị",
        "Nơi công tác",
        "Agency",
        "Organisation",
        "Organization",
        "Unit",
        "Workplace",
    ),
    "email": (
        "Email",
        "E-mail",
        "Thư điện tử",
        "Địa chỉ email",
        "Địa chỉ thư điện tử",
        "Email address",
    ),
    "course": (
        "Khóa học",
        "Tên khóa học",
        "Khóa học trực tuyến",
        "Tên khóa học trực tuyến",
        "Course",
        "Course name",
        "Course title",
    ),
    "enrolled_on": (
        "Ngày đăng ký",
        "Ngày ghi danh",
        "Ngày tham gia",
        "Thời gian đăng ký",
        "Enrolled",
        "Enrolled on",
        "Enrolment date",
        "Enrollment date",
        "Date enrolled",
        "Registration date",
    ),
    "completed_on": (
        "Ngày hoàn thành",
        "Thời gian hoàn thành",
        "Completed",
        "Completed on",
        "Completion date",
        "Date completed",
    ),
    "score": (
        "Điểm",
        "Điểm số",
        "Điểm tổng kết",
        "Điểm kết thúc",
        "Score",
        "Final score",
        "Grade",
    ),
}

# A column numbering the rows: not needed, and not worth a warning either.
ROW_NUMBER_HEADERS = ("STT", "TT", "Số TT", "Số thứ tự", "Thứ tự", "No", "#")

# Headers that begin like a column's but are about something else: a column of hamlet
# chiefs is no hamlet. (Single words of two letters, "Tổ" and "Xã", are never taken as
# a header's beginning either: "Tổ trưởng" is no team.)
NOT_COLUMNS = ("Thôn trưởng", "Xóm trưởng", "Điểm danh")
