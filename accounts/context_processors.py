from .selectors import demo_data_present


def demo_data(request) -> dict:
    return {"demo_data_present": demo_data_present()}
