"""The Russian forms official letters need: departments in the genitive and instrumental
cases, and people addressed as Russian letters address them."""

from __future__ import annotations

import pytest

from backend.core.documents import russian


@pytest.mark.parametrize(
    ("name", "genitive", "instrumental"),
    [
        ("Отдел ЖКХ", "Отдела ЖКХ", "Отделом ЖКХ"),
        ("Отдел благоустройства", "Отдела благоустройства", "Отделом благоустройства"),
        ("Управление образования", "Управления образования", "Управлением образования"),
        ("Финансовое управление", "Финансового управления", "Финансовым управлением"),
        ("Городское управление", "Городского управления", "Городским управлением"),
        ("Юридический отдел", "Юридического отдела", "Юридическим отделом"),
        ("Общий отдел", "Общего отдела", "Общим отделом"),
        ("Молодёжный центр", "Молодёжного центра", "Молодёжным центром"),
        ("Главное финансовое управление", "Главного финансового управления", "Главным финансовым управлением"),
        ("Комитет по управлению имуществом", "Комитета по управлению имуществом", "Комитетом по управлению имуществом"),
        ("Служба заказчика", "Службы заказчика", "Службой заказчика"),
        ("Общая служба", "Общей службы", "Общей службой"),
        ("Контрольно-счётная палата", "Контрольно-счётной палаты", "Контрольно-счётной палатой"),
        ("Городская дума", "Городской думы", "Городской думой"),
        ("Администрация городского округа Коломна", "Администрации городского округа Коломна", "Администрацией городского округа Коломна"),
        ("Приёмная главы", "Приёмной главы", "Приёмной главы"),
        ("Бюро ЗАГС", "Бюро ЗАГС", "Бюро ЗАГС"),
        ("отдел по делам молодёжи", "отдела по делам молодёжи", "отделом по делам молодёжи"),
        ("Отдел «Дороги»", "Отдела «Дороги»", "Отделом «Дороги»"),
    ],
)
def test_department_names_in_the_cases_letters_need(name, genitive, instrumental):
    assert russian.inflect_department(name, "genitive") == genitive
    assert russian.inflect_department(name, "instrumental") == instrumental


@pytest.mark.parametrize("name", ["МКУ «Служба заказчика»", "Roads department", "ЖКХ", "Дороги и транспорт"])
def test_unknown_shapes_are_not_guessed(name):
    assert russian.inflect_department(name, "genitive") is None
    assert russian.inflect_department(name, "instrumental") is None


@pytest.mark.parametrize(
    ("full_name", "salutation", "addressee", "signature"),
    [
        # Surname first, as official letters write it; gender from the patronymic.
        ("Жителева Анна Петровна", "Уважаемая Анна Петровна!", "Жителевой А.П.", "А.П. Жителева"),
        ("Иванов Иван Иванович", "Уважаемый Иван Иванович!", "Иванову И.И.", "И.И. Иванов"),
        # Name first is recognised by the patronymic in second place; case is normalised.
        ("Анна Петровна Жителева", "Уважаемая Анна Петровна!", "Жителевой А.П.", "А.П. Жителева"),
        ("жителева   анна петровна", "Уважаемая Анна Петровна!", "Жителевой А.П.", "А.П. Жителева"),
        ("Иван Петрович Шостакович", "Уважаемый Иван Петрович!", "Шостаковичу И.П.", "И.П. Шостакович"),
        ("Абрамович Роман Аркадьевич", "Уважаемый Роман Аркадьевич!", "Абрамовичу Р.А.", "Р.А. Абрамович"),
        ("Шевчук Оксана Ильинична", "Уважаемая Оксана Ильинична!", "Шевчук О.И.", "О.И. Шевчук"),
        ("Шевчук Тарас Петрович", "Уважаемый Тарас Петрович!", "Шевчуку Т.П.", "Т.П. Шевчук"),
        ("Вишневская Галина Павловна", "Уважаемая Галина Павловна!", "Вишневской Г.П.", "Г.П. Вишневская"),
        ("Толстой Лев Николаевич", "Уважаемый Лев Николаевич!", "Толстому Л.Н.", "Л.Н. Толстой"),
        ("Горький Максим Алексеевич", "Уважаемый Максим Алексеевич!", "Горькому М.А.", "М.А. Горький"),
        ("Крайняя Анна Петровна", "Уважаемая Анна Петровна!", "Крайней А.П.", "А.П. Крайняя"),
        ("Гоголь Николай Васильевич", "Уважаемый Николай Васильевич!", "Гоголю Н.В.", "Н.В. Гоголь"),
        ("Петренко Анна Ивановна", "Уважаемая Анна Ивановна!", "Петренко А.И.", "А.И. Петренко"),
        ("Черных Иван Петрович", "Уважаемый Иван Петрович!", "Черных И.П.", "И.П. Черных"),
        ("Мамедов Рашид Гейдар оглы", "Уважаемый Рашид Гейдар оглы!", "Мамедову Р.Г.", "Р.Г. Мамедов"),
        ("Алиева Лейла Рашид кызы", "Уважаемая Лейла Рашид кызы!", "Алиевой Л.Р.", "Л.Р. Алиева"),
        # No patronymic: a neutral greeting by the first name; the surname's ending still
        # tells which word is the first name and how the surname declines.
        ("Жителева Анна", "Здравствуйте, Анна!", "Жителевой А.", "А. Жителева"),
        ("Анна Жителева", "Здравствуйте, Анна!", "Жителевой А.", "А. Жителева"),
        ("Ирина Сидорова", "Здравствуйте, Ирина!", "Сидоровой И.", "И. Сидорова"),
        ("Шевчук Оксана", "Здравствуйте, Оксана!", "Шевчук Оксана", "О. Шевчук"),
        ("Петров", "Здравствуйте!", "Петров", "Петров"),
        # Not in Cyrillic: greeted and addressed by the name as given.
        ("John Smith", "Здравствуйте, John Smith!", "John Smith", "John Smith"),
    ],
)
def test_people_as_letters_address_them(full_name, salutation, addressee, signature):
    assert russian.salutation(full_name) == salutation
    assert russian.addressee(full_name) == addressee
    assert russian.signature_name(full_name) == signature


def test_no_name_is_a_neutral_greeting_and_no_addressee():
    assert russian.salutation(None) == russian.salutation("  ") == "Здравствуйте!"
    assert russian.addressee(None) is None


def test_gender_comes_from_the_patronymic_only():
    assert russian.patronymic_gender("Петровна") == "f"
    assert russian.patronymic_gender("Ильинична") == "f"
    assert russian.patronymic_gender("Петрович") == "m"
    assert russian.patronymic_gender("Ильич") == "m"
    assert russian.patronymic_gender("Анна") is None
    assert russian.parse_name("Жителева Анна").gender is None  # type: ignore[union-attr]
